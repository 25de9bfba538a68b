import { getDb } from "#db/client.server.ts";
import { sendAnswerNotice } from "#app/models/answers.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("send-answer-notice", async ({ answerId }) => sendAnswerNotice(getDb(), answerId));
