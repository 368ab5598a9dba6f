import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Restore tests: when each backup was last restored into a scratch site and answered, or failed
 * to, and a policy's schedule for them.
 */
export class BackupVerification1797033600000 implements MigrationInterface {
  name = 'BackupVerification1797033600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backups" ADD "verified_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "backups" ADD "verify_failed_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "backup_policies" ADD "verify_schedule" character varying(100)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "backup_policies" DROP COLUMN "verify_schedule"`);
    await queryRunner.query(`ALTER TABLE "backups" DROP COLUMN "verify_failed_at"`);
    await queryRunner.query(`ALTER TABLE "backups" DROP COLUMN "verified_at"`);
  }
}
