ALTER TYPE "public"."store_run_action" ADD VALUE 'correction';--> statement-breakpoint
ALTER TYPE "public"."store_run_action" ADD VALUE 'opt_out';--> statement-breakpoint
CREATE TABLE "request_corrections" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"values_ciphertext" text NOT NULL,
	"attributes" text[] NOT NULL,
	"confirmed_by" uuid,
	"confirmed_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "request_corrections" ADD CONSTRAINT "request_corrections_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_corrections" ADD CONSTRAINT "request_corrections_confirmed_by_staff_users_id_fk" FOREIGN KEY ("confirmed_by") REFERENCES "public"."staff_users"("id") ON DELETE set null ON UPDATE no action;