import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The task layer's step log gets the master's own records (task_records); tasks keep the workflow
 * version they started with, the task that queued them, and the domain they claim; a backup is one
 * per archive. Tasks already running are version 1 (the only one there was), and what the old code
 * kept in params is copied into the new columns so that tasks in flight carry on.
 */
export class TaskLayer1796256000000 implements MigrationInterface {
  name = 'TaskLayer1796256000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "task_records" ("task_id" uuid NOT NULL, "seq" integer NOT NULL, "name" character varying(64) NOT NULL, "output" jsonb, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_7f5ffc130597366cd99c219916b" PRIMARY KEY ("task_id", "seq"))`,
    );
    await queryRunner.query(`ALTER TABLE "tasks" ADD "workflow_version" integer`);
    await queryRunner.query(`ALTER TABLE "tasks" ADD "parent_task_id" uuid`);
    await queryRunner.query(`ALTER TABLE "tasks" ADD "claimed_domain" character varying(253)`);
    await queryRunner.query(`UPDATE "tasks" SET "workflow_version" = 1 WHERE "state" <> 'queued'`);
    // A platform upgrade found its sites' migrates by target and time; now they name it.
    await queryRunner.query(
      `UPDATE "tasks" m SET "parent_task_id" = u."id"
         FROM "tasks" u
        WHERE u."type" = 'platform.migrate-sites' AND u."state" IN ('queued', 'running')
          AND m."type" = 'site.migrate'
          AND m."params"->>'targetPlatformId' = u."params"->>'targetPlatformId'
          AND m."created_at" >= COALESCE(u."started_at", u."created_at")
          AND m."target_id"::text IN (SELECT jsonb_array_elements(u."params"->'sites')->>'id')`,
    );
    await queryRunner.query(
      `UPDATE "tasks" SET "claimed_domain" = "params"->>'domain'
        WHERE "type" = 'site.rename' AND "state" IN ('queued', 'running')`,
    );
    // A task replayed after a restart could record its backup twice: the first one stays.
    await queryRunner.query(
      `DELETE FROM "backups" b USING "backups" first
        WHERE b."archive_id" = first."archive_id" AND (first."created_at", first."id") < (b."created_at", b."id")`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_backups_archive" ON "backups"  ("archive_id") `);
    await queryRunner.query(`CREATE INDEX "idx_tasks_parent" ON "tasks"  ("parent_task_id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_tasks_claimed_domain" ON "tasks"  ("claimed_domain") WHERE state IN ('queued', 'running') AND claimed_domain IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."uq_tasks_claimed_domain"`);
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_parent"`);
    await queryRunner.query(`DROP INDEX "public"."uq_backups_archive"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "claimed_domain"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "parent_task_id"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "workflow_version"`);
    await queryRunner.query(`DROP TABLE "task_records"`);
  }
}
