import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The registry's first schema: servers and slots, platforms, sites, packages, tasks, backups, tokens. */
export class InitialRegistry1763769600000 implements MigrationInterface {
  name = 'InitialRegistry1763769600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Fencing tokens for step attempts: unique and increasing across every server and master.
    await queryRunner.query(`CREATE SEQUENCE "attempt_epoch_seq"`);
    await queryRunner.query(
      `CREATE TABLE "api_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "token_sha256" character varying(64) NOT NULL, "role" character varying(16) NOT NULL, "client_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_tokens_hash" ON "api_tokens"  ("token_sha256")`);
    await queryRunner.query(
      `CREATE TABLE "archives" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "state" character varying(16) NOT NULL DEFAULT 'reserved', "attempt_id" uuid, "server_id" uuid NOT NULL, "sha256" character varying(64), "size_bytes" bigint, "purpose" character varying(32) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "stored_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c3ec7997b37170870ed028fe0e3" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_archives_attempt" ON "archives"  ("attempt_id")`);
    await queryRunner.query(
      `CREATE TABLE "backups" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "site_id" uuid NOT NULL, "domain" character varying(253) NOT NULL, "archive_id" uuid NOT NULL, "task_id" uuid, "reason" character varying(32) NOT NULL DEFAULT 'manual', "manifest" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ca30ff369eddfc7dac3b35d0d3c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_backups_site" ON "backups"  ("site_id")`);
    await queryRunner.query(
      `CREATE TABLE "clients" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "email" character varying(254), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_f1ab7cf3a5714dbc6bb4e1c28a4" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_clients_name" ON "clients"  ("name")`);
    await queryRunner.query(
      `CREATE TABLE "clusters" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_56c8e201f375e1e961dcdd6831c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_clusters_name" ON "clusters"  ("name")`);
    await queryRunner.query(
      `CREATE TABLE "package_instances" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "package_id" uuid NOT NULL, "platform_id" uuid, "site_id" uuid, "version" character varying(64), "schema_version" integer NOT NULL DEFAULT '0', "path" character varying(1024), "enabled" boolean NOT NULL DEFAULT true, CONSTRAINT "chk_package_instances_owner" CHECK ((platform_id IS NULL) <> (site_id IS NULL)), CONSTRAINT "PK_4ff326264025a651c5d9bef4cba" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_package_instances_site" ON "package_instances"  ("site_id", "package_id") WHERE site_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_package_instances_platform" ON "package_instances"  ("platform_id", "package_id") WHERE platform_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "packages" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(128) NOT NULL, "type" character varying(16) NOT NULL, "title" character varying(255), CONSTRAINT "PK_020801f620e21f943ead9311c98" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_packages_name_type" ON "packages"  ("name", "type")`);
    await queryRunner.query(
      `CREATE TABLE "platforms" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "server_id" uuid NOT NULL, "cluster_id" uuid, "path" character varying(1024) NOT NULL, "docroot" character varying(255) NOT NULL DEFAULT '', "core_version" character varying(64), "status" character varying(16) NOT NULL DEFAULT 'new', "locked" boolean NOT NULL DEFAULT false, "verified_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_3b879853678f7368d46e52b81c6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_platforms_name" ON "platforms"  ("name")`);
    await queryRunner.query(`CREATE INDEX "idx_platforms_server" ON "platforms"  ("server_id")`);
    await queryRunner.query(
      `CREATE TABLE "enrollment_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "server_id" uuid NOT NULL, "token_sha256" character varying(64) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d9b043a74d8643fde7e6b948591" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_enrollment_tokens_server" ON "enrollment_tokens"  ("server_id")`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_enrollment_tokens_hash" ON "enrollment_tokens"  ("token_sha256")`,
    );
    await queryRunner.query(
      `CREATE TABLE "server_slots" ("server_id" uuid NOT NULL, "slot_no" integer NOT NULL, "attempt_id" uuid, "task_id" uuid, "taken_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_506ebec34bcc78aa01ebb29d8a6" PRIMARY KEY ("server_id", "slot_no"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_server_slots_attempt" ON "server_slots"  ("attempt_id") WHERE attempt_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE TABLE "servers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(253) NOT NULL, "cluster_id" uuid, "slots" integer NOT NULL DEFAULT '1', "services" jsonb NOT NULL DEFAULT '[]', "agent_version" character varying(64), "hostname" character varying(253), "certificate_sha256" character varying(64), "certificate_expires_at" TIMESTAMP WITH TIME ZONE, "enrolled_at" TIMESTAMP WITH TIME ZONE, "last_seen_at" TIMESTAMP WITH TIME ZONE, "verified_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c0947efd9f3db2dcc010164d20b" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_servers_name" ON "servers"  ("name")`);
    await queryRunner.query(
      `CREATE TABLE "sites" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "domain" character varying(253) NOT NULL, "platform_id" uuid NOT NULL, "client_id" uuid, "db_server_id" uuid NOT NULL, "db_name" character varying(64) NOT NULL, "db_user" character varying(32) NOT NULL, "db_password_encrypted" text NOT NULL, "profile" character varying(64) NOT NULL DEFAULT 'standard', "status" character varying(16) NOT NULL DEFAULT 'installing', "verified_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4f5eccb1dfde10c9170502595a7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_sites_domain" ON "sites"  ("domain")`);
    await queryRunner.query(`CREATE INDEX "idx_sites_platform" ON "sites"  ("platform_id")`);
    await queryRunner.query(`CREATE INDEX "idx_sites_client" ON "sites"  ("client_id")`);
    await queryRunner.query(
      `CREATE TABLE "step_attempts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "step_id" uuid NOT NULL, "task_id" uuid NOT NULL, "server_id" uuid NOT NULL, "attempt_no" integer NOT NULL, "epoch" bigint NOT NULL DEFAULT nextval('attempt_epoch_seq'), "state" character varying(16) NOT NULL DEFAULT 'pending', "lease_expires_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "assigned_at" TIMESTAMP WITH TIME ZONE, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "error" text, CONSTRAINT "PK_2ae1a238a9f70de179c5c17f14b" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_step_attempts_step" ON "step_attempts"  ("step_id")`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_step_attempts_epoch" ON "step_attempts"  ("epoch")`);
    await queryRunner.query(
      `CREATE INDEX "idx_step_attempts_server_state" ON "step_attempts"  ("server_id", "state")`,
    );
    await queryRunner.query(
      `CREATE TABLE "task_logs" ("id" BIGSERIAL NOT NULL, "task_id" uuid NOT NULL, "step_id" uuid, "attempt_id" uuid, "seq" bigint, "stream" character varying(8) NOT NULL, "text" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9754457a29b4ffbb772e8a3039c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_task_logs_attempt_seq" ON "task_logs"  ("attempt_id", "seq") WHERE attempt_id IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "idx_task_logs_task" ON "task_logs"  ("task_id", "id")`);
    await queryRunner.query(
      `CREATE TABLE "task_steps" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "task_id" uuid NOT NULL, "seq" integer NOT NULL, "server_id" uuid NOT NULL, "name" character varying(64) NOT NULL, "params" jsonb NOT NULL DEFAULT '{}', "state" character varying(16) NOT NULL DEFAULT 'pending', "output" jsonb, "failure" jsonb, "timeout_ms" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6819d839f341f840be6b40d2c82" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_task_steps_server" ON "task_steps"  ("server_id")`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_task_steps_seq" ON "task_steps"  ("task_id", "seq")`);
    await queryRunner.query(
      `CREATE TABLE "tasks" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "type" character varying(64) NOT NULL, "state" character varying(16) NOT NULL DEFAULT 'queued', "target_kind" character varying(16) NOT NULL, "target_id" uuid NOT NULL, "target_name" character varying(253) NOT NULL, "lock_key" character varying(80), "params" jsonb NOT NULL DEFAULT '{}', "result" jsonb, "error" text, "error_code" character varying(64), "rollback_completed" boolean, "phases" jsonb NOT NULL DEFAULT '[]', "runner_id" character varying(64), "client_id" uuid, "created_by" character varying(64), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "cancel_requested_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_8d12ff38fcc62aaba2cab748772" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_tasks_target" ON "tasks"  ("target_id")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_tasks_running_lock" ON "tasks"  ("lock_key") WHERE state = 'running' AND lock_key IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "idx_tasks_queue" ON "tasks"  ("state", "created_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."uq_api_tokens_hash"`);
    await queryRunner.query(`DROP TABLE "archives"`);
    await queryRunner.query(`DROP INDEX "public"."idx_archives_attempt"`);
    await queryRunner.query(`DROP TABLE "backups"`);
    await queryRunner.query(`DROP INDEX "public"."idx_backups_site"`);
    await queryRunner.query(`DROP TABLE "clients"`);
    await queryRunner.query(`DROP INDEX "public"."uq_clients_name"`);
    await queryRunner.query(`DROP TABLE "clusters"`);
    await queryRunner.query(`DROP INDEX "public"."uq_clusters_name"`);
    await queryRunner.query(`DROP TABLE "package_instances"`);
    await queryRunner.query(`DROP INDEX "public"."uq_package_instances_site"`);
    await queryRunner.query(`DROP INDEX "public"."uq_package_instances_platform"`);
    await queryRunner.query(`DROP TABLE "packages"`);
    await queryRunner.query(`DROP INDEX "public"."uq_packages_name_type"`);
    await queryRunner.query(`DROP TABLE "platforms"`);
    await queryRunner.query(`DROP INDEX "public"."uq_platforms_name"`);
    await queryRunner.query(`DROP INDEX "public"."idx_platforms_server"`);
    await queryRunner.query(`DROP TABLE "enrollment_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."idx_enrollment_tokens_server"`);
    await queryRunner.query(`DROP INDEX "public"."uq_enrollment_tokens_hash"`);
    await queryRunner.query(`DROP TABLE "server_slots"`);
    await queryRunner.query(`DROP INDEX "public"."uq_server_slots_attempt"`);
    await queryRunner.query(`DROP TABLE "servers"`);
    await queryRunner.query(`DROP INDEX "public"."uq_servers_name"`);
    await queryRunner.query(`DROP TABLE "sites"`);
    await queryRunner.query(`DROP INDEX "public"."uq_sites_domain"`);
    await queryRunner.query(`DROP INDEX "public"."idx_sites_platform"`);
    await queryRunner.query(`DROP INDEX "public"."idx_sites_client"`);
    await queryRunner.query(`DROP TABLE "step_attempts"`);
    await queryRunner.query(`DROP INDEX "public"."idx_step_attempts_step"`);
    await queryRunner.query(`DROP INDEX "public"."uq_step_attempts_epoch"`);
    await queryRunner.query(`DROP INDEX "public"."idx_step_attempts_server_state"`);
    await queryRunner.query(`DROP TABLE "task_logs"`);
    await queryRunner.query(`DROP INDEX "public"."uq_task_logs_attempt_seq"`);
    await queryRunner.query(`DROP INDEX "public"."idx_task_logs_task"`);
    await queryRunner.query(`DROP TABLE "task_steps"`);
    await queryRunner.query(`DROP INDEX "public"."idx_task_steps_server"`);
    await queryRunner.query(`DROP INDEX "public"."uq_task_steps_seq"`);
    await queryRunner.query(`DROP TABLE "tasks"`);
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_target"`);
    await queryRunner.query(`DROP INDEX "public"."uq_tasks_running_lock"`);
    await queryRunner.query(`DROP INDEX "public"."idx_tasks_queue"`);
    await queryRunner.query(`DROP SEQUENCE "attempt_epoch_seq"`);
  }
}
