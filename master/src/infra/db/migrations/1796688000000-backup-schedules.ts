import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backups on a schedule: policies (global, per client, per site), one row per firing of a schedule,
 * the time zone an agent reports for its server, and a priority that puts people's tasks first.
 */
export class BackupSchedules1796688000000 implements MigrationInterface {
  name = 'BackupSchedules1796688000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "backup_policies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "scope_key" character varying(80) NOT NULL, "scope" character varying(16) NOT NULL, "client_id" uuid, "site_id" uuid, "schedule" character varying(100), "window_start" character varying(5), "window_end" character varying(5), "keep_last" integer NOT NULL DEFAULT '7', "keep_daily" integer NOT NULL DEFAULT '0', "keep_weekly" integer NOT NULL DEFAULT '0', "keep_monthly" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_260ee37c86657e1679e3cb73333" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_backup_policies_scope" ON "backup_policies"  ("scope_key") `,
    );
    await queryRunner.query(
      `CREATE TABLE "schedule_firings" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "kind" character varying(32) NOT NULL, "target_id" uuid NOT NULL, "policy_id" uuid, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "opens_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "state" character varying(16) NOT NULL DEFAULT 'waiting', "task_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "settled_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_cb62e7af1e0910e80f1e4ed40f2" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_schedule_firings_task" ON "schedule_firings"  ("task_id") `);
    await queryRunner.query(
      `CREATE INDEX "idx_schedule_firings_waiting" ON "schedule_firings"  ("opens_at") WHERE state = 'waiting'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_schedule_firings_due" ON "schedule_firings"  ("kind", "target_id", "due_at") `,
    );
    await queryRunner.query(`ALTER TABLE "servers" ADD "time_zone" character varying(64)`);
    await queryRunner.query(`ALTER TABLE "tasks" ADD "priority" smallint NOT NULL DEFAULT '0'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "priority"`);
    await queryRunner.query(`ALTER TABLE "servers" DROP COLUMN "time_zone"`);
    await queryRunner.query(`DROP TABLE "schedule_firings"`);
    await queryRunner.query(`DROP TABLE "backup_policies"`);
  }
}
