CREATE TYPE "public"."store_kind" AS ENUM('postgres', 'mysql', 'http', 'manual');--> statement-breakpoint
CREATE TYPE "public"."store_run_action" AS ENUM('access', 'erasure');--> statement-breakpoint
CREATE TYPE "public"."store_run_status" AS ENUM('pending', 'running', 'waiting', 'completed', 'failed');--> statement-breakpoint
CREATE TABLE "store_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"request_id" uuid NOT NULL,
	"store_id" uuid NOT NULL,
	"action" "store_run_action" NOT NULL,
	"status" "store_run_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"map_version" integer,
	"progress" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"report" jsonb,
	"task" jsonb,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "store_runs_request_store_action_key" UNIQUE("request_id","store_id","action")
);
--> statement-breakpoint
CREATE TABLE "stores" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"kind" "store_kind" NOT NULL,
	"title" text,
	"data_map" jsonb NOT NULL,
	"map_version" integer DEFAULT 1 NOT NULL,
	"secrets_ciphertext" text NOT NULL,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stores_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "store_runs" ADD CONSTRAINT "store_runs_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "store_runs" ADD CONSTRAINT "store_runs_store_id_stores_id_fk" FOREIGN KEY ("store_id") REFERENCES "public"."stores"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "store_runs_store_idx" ON "store_runs" USING btree ("store_id");--> statement-breakpoint
CREATE INDEX "store_runs_status_idx" ON "store_runs" USING btree ("status");