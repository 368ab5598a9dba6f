import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several masters on one registry: the masters alive and the process holding each name, the lease
 * of the work that runs once across them, which master holds each agent's stream, and each running
 * task's owner epoch and hold.
 */
export class SeveralMasters1797552000000 implements MigrationInterface {
  name = 'SeveralMasters1797552000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "masters" ("id" character varying(64) NOT NULL, "instance" uuid NOT NULL, "home" character varying(512) NOT NULL, "http_url" character varying(255), "grpc_port" integer, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_ffb63641dda57195f6e23dc4c0d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "master_leases" ("name" character varying(64) NOT NULL, "holder" character varying(64) NOT NULL, "instance" uuid NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_fd2951426a3c416f0db5c07762a" PRIMARY KEY ("name"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "agent_connections" ("server_id" uuid NOT NULL, "master_id" character varying(64) NOT NULL, "instance" uuid NOT NULL, "connected_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_698ce05eb7608b76809067a20fc" PRIMARY KEY ("server_id"))`,
    );
    await queryRunner.query(`ALTER TABLE "tasks" ADD "owner_epoch" bigint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "tasks" ADD "owner_expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE INDEX "idx_tasks_running_owner" ON "tasks"  ("owner_expires_at") WHERE state = 'running'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_running_owner"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "owner_expires_at"`);
    await queryRunner.query(`ALTER TABLE "tasks" DROP COLUMN "owner_epoch"`);
    await queryRunner.query(`DROP TABLE "agent_connections"`);
    await queryRunner.query(`DROP TABLE "master_leases"`);
    await queryRunner.query(`DROP TABLE "masters"`);
  }
}
