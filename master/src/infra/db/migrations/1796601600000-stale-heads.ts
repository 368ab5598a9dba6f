import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A head a task went on without (--without-head): stale from then until it is synced again. */
export class StaleHeads1796601600000 implements MigrationInterface {
  name = 'StaleHeads1796601600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "servers" ADD "stale_since" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "servers" DROP COLUMN "stale_since"`);
  }
}
