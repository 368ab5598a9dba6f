import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Projects and their environments (dev, test, live ...): one site each, in order. */
export class Projects1797465600000 implements MigrationInterface {
  name = 'Projects1797465600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "projects" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(63) NOT NULL, "client_id" uuid, "sanitize" character varying(100) NOT NULL DEFAULT 'sql:sanitize', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_6271df0a7aed1d6c0691ce6ac50" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_projects_name" ON "projects"  ("name") `);
    await queryRunner.query(
      `CREATE TABLE "environments" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "name" character varying(32) NOT NULL, "position" integer NOT NULL, "site_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ec32d12469ec3c2f2f20c4f5e71" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_environments_site" ON "environments"  ("site_id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_environments_name" ON "environments"  ("project_id", "name") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."uq_environments_name"`);
    await queryRunner.query(`DROP INDEX "public"."uq_environments_site"`);
    await queryRunner.query(`DROP TABLE "environments"`);
    await queryRunner.query(`DROP INDEX "public"."uq_projects_name"`);
    await queryRunner.query(`DROP TABLE "projects"`);
  }
}
