import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When a cluster's heads were last seen to share one site directory (cluster.verify). */
export class ClusterSharedSites1796515200000 implements MigrationInterface {
  name = 'ClusterSharedSites1796515200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clusters" ADD "sites_shared_at" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clusters" DROP COLUMN "sites_shared_at"`);
  }
}
