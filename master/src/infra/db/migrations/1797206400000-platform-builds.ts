import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Platform builds: what a platform was built from, the commit its checkout is at, its deploy key (sealed). */
export class PlatformBuilds1797206400000 implements MigrationInterface {
  name = 'PlatformBuilds1797206400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "platforms" ADD "source" jsonb`);
    await queryRunner.query(`ALTER TABLE "platforms" ADD "git_commit" character varying(64)`);
    await queryRunner.query(`ALTER TABLE "platforms" ADD "deploy_key_encrypted" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "platforms" DROP COLUMN "deploy_key_encrypted"`);
    await queryRunner.query(`ALTER TABLE "platforms" DROP COLUMN "git_commit"`);
    await queryRunner.query(`ALTER TABLE "platforms" DROP COLUMN "source"`);
  }
}
