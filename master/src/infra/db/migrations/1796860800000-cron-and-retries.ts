import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drupal's cron per site (every this many minutes while enabled; 0: only when asked for), the
 * backoff of a retried step's next attempt, and the task a retry starts again.
 */
export class CronAndRetries1796860800000 implements MigrationInterface {
  name = 'CronAndRetries1796860800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sites" ADD "cron_every_minutes" integer NOT NULL DEFAULT '60'`);
    await queryRunner.query(`ALTER TABLE "step_attempts" ADD "not_before" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "tasks" ADD "retry_of" uuid`);
    await queryRunner.query(`CREATE INDEX "idx_tasks_retry_of" ON "tasks"  ("retry_of") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_retry_of"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "retry_of"`);
    await queryRunner.query(`ALTER TABLE "step_attempts" DROP COLUMN "not_before"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "cron_every_minutes"`);
  }
}
