import { getDb } from "#db/client.server.ts";
import { reconcile } from "#app/models/reconcile.server.ts";
import { defineProcessor } from "../processor.ts";

export default defineProcessor("reconcile", async () => reconcile(getDb()));
