CREATE TABLE "handling_policy_acknowledgements" (
	"version_id" uuid NOT NULL,
	"staff_id" uuid NOT NULL,
	"acknowledged_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "handling_policy_acknowledgements_pkey" PRIMARY KEY("version_id","staff_id")
);
--> statement-breakpoint
CREATE TABLE "handling_policy_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"version" integer NOT NULL,
	"body_markdown" text NOT NULL,
	"author_id" uuid,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "handling_policy_versions_version_unique" UNIQUE("version"),
	CONSTRAINT "handling_policy_versions_version_positive" CHECK ("handling_policy_versions"."version" > 0)
);
--> statement-breakpoint
ALTER TABLE "handling_policy_acknowledgements" ADD CONSTRAINT "handling_policy_acknowledgements_version_id_handling_policy_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."handling_policy_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "handling_policy_acknowledgements" ADD CONSTRAINT "handling_policy_acknowledgements_staff_id_staff_users_id_fk" FOREIGN KEY ("staff_id") REFERENCES "public"."staff_users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "handling_policy_versions" ADD CONSTRAINT "handling_policy_versions_author_id_staff_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."staff_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "handling_policy_acknowledgements_staff_idx" ON "handling_policy_acknowledgements" USING btree ("staff_id");--> statement-breakpoint
-- A published policy version is immutable: an edit is a new version (UPDATE and DELETE are refused).
CREATE OR REPLACE FUNCTION handling_policy_versions_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'handling_policy_versions is immutable (% refused): publish a new version', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER handling_policy_versions_no_update_delete BEFORE UPDATE OR DELETE ON handling_policy_versions
  FOR EACH ROW EXECUTE FUNCTION handling_policy_versions_immutable();
