import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Site repositories: a site's own code (install --repo), its deploy key (sealed), the ref and commit last deployed. */
export class SiteRepositories1797379200000 implements MigrationInterface {
  name = 'SiteRepositories1797379200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sites" ADD "repository_url" character varying(500)`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "code_ref" character varying(200)`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "code_commit" character varying(64)`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "repository_key_encrypted" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "repository_key_encrypted"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "code_commit"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "code_ref"`);
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "repository_url"`);
  }
}
