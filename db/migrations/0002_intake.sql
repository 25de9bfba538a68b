CREATE TYPE "public"."access_scope" AS ENUM('categories', 'specific');--> statement-breakpoint
CREATE TYPE "public"."document_kind" AS ENUM('agent_authorization');--> statement-breakpoint
CREATE TYPE "public"."submitter" AS ENUM('subject', 'agent');--> statement-breakpoint
CREATE TYPE "public"."challenge_purpose" AS ENUM('requester', 'consumer_confirmation');--> statement-breakpoint
CREATE TABLE "request_documents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"request_id" uuid NOT NULL,
	"kind" "document_kind" NOT NULL,
	"content_type" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"sha256" text NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "details_ciphertext" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "access_scope" "access_scope";--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "supplied_data_points" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "matched_data_points" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "gpc" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "submitted_by" "submitter" DEFAULT 'subject' NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "agent_ciphertext" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "agent_confirmed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "status_token_hash" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "acknowledge_by" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "extension_notice_by" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "extension_reason" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "outcome_reason" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "verification_challenges" ADD COLUMN "purpose" "challenge_purpose" DEFAULT 'requester' NOT NULL;--> statement-breakpoint
ALTER TABLE "request_documents" ADD CONSTRAINT "request_documents_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "request_documents_request_idx" ON "request_documents" USING btree ("request_id");--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_status_token_hash_unique" UNIQUE("status_token_hash");