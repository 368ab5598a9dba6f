import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The task list at scale (100,000 tasks and more): a page newest first, unfiltered or of one target
 * (by id, or by the name the task recorded), is a short range of an index on (…, created_at, id)
 * read backwards. The index on target_id alone is replaced by the one that leads with it.
 */
export class TaskList1797724800000 implements MigrationInterface {
  name = 'TaskList1797724800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_target"`);
    await queryRunner.query(
      `CREATE INDEX "idx_tasks_target_name_created" ON "tasks"  ("target_name", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_tasks_target_created" ON "tasks"  ("target_id", "created_at", "id") `,
    );
    await queryRunner.query(`CREATE INDEX "idx_tasks_created" ON "tasks"  ("created_at", "id") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_created"`);
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_target_created"`);
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_target_name_created"`);
    await queryRunner.query(`CREATE INDEX "idx_tasks_target" ON "tasks"  ("target_id") `);
  }
}
