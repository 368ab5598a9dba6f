import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several servers: each server's address (what the other servers reach it at) and roles (http,
 * db: what it offers to sites), both from its agent's hello and verify, and a backup's database dump as an archive of its own, made by the db server's agent
 * (null for the backups from before, whose site archive holds database.sql); a site that moved to
 * another server keeps its previous platform until it is released from the old one.
 */
export class SeveralServers1796428800000 implements MigrationInterface {
  name = 'SeveralServers1796428800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "servers" ADD "address" character varying(45)`);
    // Known at the next hello: every agent says hello again when the upgraded master starts.
    await queryRunner.query(`ALTER TABLE "servers" ADD "roles" jsonb NOT NULL DEFAULT '[]'`);
    await queryRunner.query(`ALTER TABLE "backups" ADD "database_archive_id" uuid`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "previous_platform_id" uuid`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "release_old_after" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "release_old_after"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "previous_platform_id"`);
    await queryRunner.query(`ALTER TABLE "backups" DROP COLUMN "database_archive_id"`);
    await queryRunner.query(`ALTER TABLE "servers" DROP COLUMN "roles"`);
    await queryRunner.query(`ALTER TABLE "servers" DROP COLUMN "address"`);
  }
}
