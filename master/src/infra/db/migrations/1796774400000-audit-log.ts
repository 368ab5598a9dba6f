import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit log: one row per change asked of the REST API, appended once its answer is sent. */
export class AuditLog1796774400000 implements MigrationInterface {
  name = 'AuditLog1796774400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" BIGSERIAL NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "token_id" uuid, "token_name" character varying(63), "role" character varying(16), "client_id" uuid, "method" character varying(8) NOT NULL, "route" character varying(255), "path" character varying(2048) NOT NULL, "target" jsonb NOT NULL DEFAULT '{}', "summary" jsonb, "address" character varying(64), "status" smallint, "error_code" character varying(64), "task_id" uuid, "duration_ms" integer NOT NULL, CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_audit_events_at" ON "audit_events"  ("at") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_audit_events_at"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
