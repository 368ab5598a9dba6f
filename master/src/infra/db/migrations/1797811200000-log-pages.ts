import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lists that grow without bound, paged newest first by (time, id) from a cursor: the audit log,
 * the notification delivery log and the API tokens. A page is a short range of an index on
 * (time, id) read backwards; the indexes on the time alone are replaced by those.
 */
export class LogPages1797811200000 implements MigrationInterface {
  name = 'LogPages1797811200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_audit_events_at"`);
    await queryRunner.query(`DROP INDEX "public"."idx_notification_deliveries_created"`);
    await queryRunner.query(`CREATE INDEX "idx_audit_events_at" ON "audit_events"  ("at", "id") `);
    await queryRunner.query(
      `CREATE INDEX "idx_notification_deliveries_created" ON "notification_deliveries"  ("created_at", "id") `,
    );
    await queryRunner.query(`CREATE INDEX "idx_api_tokens_created" ON "api_tokens"  ("created_at", "id") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_api_tokens_created"`);
    await queryRunner.query(`DROP INDEX "public"."idx_notification_deliveries_created"`);
    await queryRunner.query(`DROP INDEX "public"."idx_audit_events_at"`);
    await queryRunner.query(
      `CREATE INDEX "idx_notification_deliveries_created" ON "notification_deliveries"  ("created_at") `,
    );
    await queryRunner.query(`CREATE INDEX "idx_audit_events_at" ON "audit_events"  ("at") `);
  }
}
