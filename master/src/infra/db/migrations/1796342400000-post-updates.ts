import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Packages keep what the compatibility rules of Drupal 10.1+ and 11 need: a platform's last removed
 * update and its post-updates (available and removed), and the post-updates a site ran (null for
 * the sites recorded before: unknown until their next verify).
 */
export class PostUpdates1796342400000 implements MigrationInterface {
  name = 'PostUpdates1796342400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "package_instances" ADD "last_removed_schema" integer NOT NULL DEFAULT '0'`,
    );
    await queryRunner.query(`ALTER TABLE "package_instances" ADD "post_updates" jsonb`);
    await queryRunner.query(
      `ALTER TABLE "package_instances" ADD "removed_post_updates" jsonb NOT NULL DEFAULT '[]'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "package_instances" DROP COLUMN "removed_post_updates"`);
    await queryRunner.query(`ALTER TABLE "package_instances" DROP COLUMN "post_updates"`);
    await queryRunner.query(`ALTER TABLE "package_instances" DROP COLUMN "last_removed_schema"`);
  }
}
