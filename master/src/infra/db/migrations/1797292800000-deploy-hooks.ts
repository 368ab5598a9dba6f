import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Deploy hooks: a platform's ordered list (empty: the updates only), and a site's own (null: its platform's). */
export class DeployHooks1797292800000 implements MigrationInterface {
  name = 'DeployHooks1797292800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "platforms" ADD "deploy_hooks" jsonb NOT NULL DEFAULT '[]'`);
    await queryRunner.query(`ALTER TABLE "sites" ADD "deploy_hooks" jsonb`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sites" DROP COLUMN "deploy_hooks"`);
    await queryRunner.query(`ALTER TABLE "platforms" DROP COLUMN "deploy_hooks"`);
  }
}
