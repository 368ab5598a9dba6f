import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Off-site copies: S3-compatible targets (their secret sealed), the copy of each archive in each
 * target with its state and attempts, and the target a backup policy copies its backups to.
 */
export class OffsiteCopies1797120000000 implements MigrationInterface {
  name = 'OffsiteCopies1797120000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "offsite_targets" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "endpoint" character varying(500) NOT NULL, "region" character varying(64) NOT NULL, "bucket" character varying(63) NOT NULL, "prefix" character varying(200) NOT NULL DEFAULT '', "path_style" boolean NOT NULL DEFAULT true, "access_key_id" character varying(128) NOT NULL, "secret_encrypted" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_fa8e0022bf8f1a3a807482bd149" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_offsite_targets_name" ON "offsite_targets"  ("name") `);
    await queryRunner.query(
      `CREATE TABLE "offsite_copies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "archive_id" uuid NOT NULL, "target_id" uuid NOT NULL, "backup_id" uuid NOT NULL, "object_key" character varying(600) NOT NULL, "state" character varying(16) NOT NULL DEFAULT 'pending', "sha256" character varying(64), "bytes" bigint, "attempts" integer NOT NULL DEFAULT '0', "last_error" text, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "copied_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_bd0950d54b40e20ac13f3a35088" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_offsite_copies_due" ON "offsite_copies"  ("next_attempt_at") WHERE state IN ('pending', 'removing')`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_offsite_copies_archive" ON "offsite_copies"  ("archive_id", "target_id") `,
    );
    await queryRunner.query(`ALTER TABLE "backup_policies" ADD "offsite_target_id" uuid`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP COLUMN "offsite_target_id"`);
    await queryRunner.query(`DROP INDEX "public"."uq_offsite_copies_archive"`);
    await queryRunner.query(`DROP INDEX "public"."idx_offsite_copies_due"`);
    await queryRunner.query(`DROP TABLE "offsite_copies"`);
    await queryRunner.query(`DROP INDEX "public"."uq_offsite_targets_name"`);
    await queryRunner.query(`DROP TABLE "offsite_targets"`);
  }
}
