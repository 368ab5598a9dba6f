import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications: the webhooks and email addresses told of failed tasks and missed schedules (per
 * admin or per client, the webhook's secret encrypted), and one delivery row per target, event and
 * subject with its attempts.
 */
export class Notifications1796947200000 implements MigrationInterface {
  name = 'Notifications1796947200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "notification_targets" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "kind" character varying(16) NOT NULL, "url" text, "address" character varying(320), "client_id" uuid, "events" jsonb, "secret_encrypted" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b9311bc63b4c17b1dd895b511fb" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_notification_targets_client" ON "notification_targets"  ("client_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "notification_deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "target_id" uuid NOT NULL, "event" character varying(32) NOT NULL, "subject_id" uuid NOT NULL, "payload" jsonb NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "state" character varying(16) NOT NULL DEFAULT 'pending', "last_error" text, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "delivered_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_81daeff81f237bd384f7cfc4a4c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_notification_deliveries_created" ON "notification_deliveries"  ("created_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_notification_deliveries_due" ON "notification_deliveries"  ("next_attempt_at") WHERE state = 'pending'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_notification_deliveries_subject" ON "notification_deliveries"  ("target_id", "event", "subject_id") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."uq_notification_deliveries_subject"`);
    await queryRunner.query(`DROP INDEX "public"."idx_notification_deliveries_due"`);
    await queryRunner.query(`DROP INDEX "public"."idx_notification_deliveries_created"`);
    await queryRunner.query(`DROP TABLE "notification_deliveries"`);
    await queryRunner.query(`DROP INDEX "public"."idx_notification_targets_client"`);
    await queryRunner.query(`DROP TABLE "notification_targets"`);
  }
}
