import { getDb } from "#db/client.server.ts";
import { sendDownloadCode } from "#app/models/packages.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-package-code", async ({ codeId }) => sendDownloadCode(getDb(), codeId));
