import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Sites record how their web server reaches their database, and keep their hash_salt (encrypted). */
export class SiteDatabaseAddress1763856000000 implements MigrationInterface {
  name = 'SiteDatabaseAddress1763856000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sites" ADD "db_host" character varying(253) NOT NULL DEFAULT '127.0.0.1'`,
    );
    await queryRunner.query(`ALTER TABLE "sites" ADD "db_port" integer NOT NULL DEFAULT '3306'`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "hash_salt_encrypted" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "db_host"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "db_port"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "hash_salt_encrypted"`);
  }
}
