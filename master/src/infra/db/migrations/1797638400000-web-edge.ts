import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The web edge of sites: their other names (aliases, redirects), HTTPS and its certificates, the
 * master's ACME account, and each site's own PHP-FPM pool user, whose uid comes from a sequence so
 * that it is the same on every server of the site (files a cluster's heads share keep their owner).
 */
export class WebEdge1797638400000 implements MigrationInterface {
  name = 'WebEdge1797638400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "site_aliases" ("name" character varying(253) NOT NULL, "site_id" uuid NOT NULL, "redirect" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4e9b2089667f510f5196284b3aa" PRIMARY KEY ("name"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_site_aliases_site" ON "site_aliases"  ("site_id") `);
    await queryRunner.query(
      `CREATE TABLE "site_edges" ("site_id" uuid NOT NULL, "https_mode" character varying(16), "https_redirect" boolean NOT NULL DEFAULT false, "https_hsts" boolean NOT NULL DEFAULT false, "pool_uid" integer, "pool_settings" jsonb NOT NULL DEFAULT '{}', "uploaded_certificate" text, "uploaded_key_encrypted" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_be026df10fd5c62a8eed0f14320" PRIMARY KEY ("site_id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_site_edges_pool_uid" ON "site_edges"  ("pool_uid") `);
    await queryRunner.query(
      `CREATE TABLE "certificates" ("site_id" uuid NOT NULL, "server_id" uuid NOT NULL, "names" jsonb NOT NULL, "mode" character varying(16) NOT NULL, "serial" character varying(128) NOT NULL, "issuer" character varying(500) NOT NULL, "not_before" TIMESTAMP WITH TIME ZONE NOT NULL, "not_after" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_3388b6cf788b6fa137a2cf1dcfc" PRIMARY KEY ("site_id", "server_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_certificates_not_after" ON "certificates"  ("not_after") `);
    await queryRunner.query(
      `CREATE TABLE "acme_accounts" ("directory_url" character varying(500) NOT NULL, "key_encrypted" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b98524e9b85d940025f4284f7c8" PRIMARY KEY ("directory_url"))`,
    );
    // FIRST_SITE_UID (shared/src/site-edge.ts): above Debian's ranges for people and packages.
    await queryRunner.query(`CREATE SEQUENCE "site_pool_uid_seq" START WITH 200000 MINVALUE 200000`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP SEQUENCE "site_pool_uid_seq"`);
    await queryRunner.query(`DROP TABLE "acme_accounts"`);
    await queryRunner.query(`DROP INDEX "public"."idx_certificates_not_after"`);
    await queryRunner.query(`DROP TABLE "certificates"`);
    await queryRunner.query(`DROP INDEX "public"."uq_site_edges_pool_uid"`);
    await queryRunner.query(`DROP TABLE "site_edges"`);
    await queryRunner.query(`DROP INDEX "public"."idx_site_aliases_site"`);
    await queryRunner.query(`DROP TABLE "site_aliases"`);
  }
}
