import type { Migration } from '../../kit/src/index.js';

export const migrations: Migration[] = [
  {
    id: '001_organisations',
    sql: `CREATE TABLE organisations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      is_default boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX organisations_one_default ON organisations (is_default) WHERE is_default`,
  },
  {
    id: '002_tenancy',
    // Tenancy twice: the routes scope every query by the caller's memberships, and row-level
    // security enforces the same rule for the role the api runs its queries as (api_tenant: no
    // superuser, no BYPASSRLS). The functions are SECURITY DEFINER so that a policy can ask
    // about memberships without the memberships policy asking itself again.
    sql: `ALTER TABLE organisations
      ADD COLUMN description text NOT NULL DEFAULT '',
      ADD COLUMN owner text NOT NULL DEFAULT 'system',
      ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
    ALTER TABLE organisations ALTER COLUMN owner DROP DEFAULT;
    INSERT INTO organisations (name, description, owner, is_default)
      SELECT 'Default', 'Every user belongs here until they join others', 'system', true
      WHERE NOT EXISTS (SELECT 1 FROM organisations WHERE is_default);
    CREATE TABLE users (
      sub text PRIMARY KEY,
      active_organisation uuid REFERENCES organisations ON DELETE SET NULL,
      first_seen timestamptz
    );
    CREATE TABLE memberships (
      organisation_id uuid NOT NULL REFERENCES organisations ON DELETE CASCADE,
      user_sub text NOT NULL REFERENCES users ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (organisation_id, user_sub)
    );
    CREATE INDEX memberships_user ON memberships (user_sub);
    CREATE TABLE audit (
      id bigserial PRIMARY KEY,
      organisation_id uuid NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}',
      at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_organisation ON audit (organisation_id, at);

    CREATE FUNCTION current_sub() RETURNS text LANGUAGE sql STABLE
      AS $$ SELECT nullif(current_setting('app.user_sub', true), '') $$;
    CREATE FUNCTION my_organisations() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = api
      AS $$ SELECT organisation_id FROM memberships WHERE user_sub = current_sub() $$;
    CREATE FUNCTION owns(org uuid) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = api
      AS $$ SELECT EXISTS (SELECT 1 FROM organisations WHERE id = org AND owner = current_sub()) $$;

    DO $$ BEGIN CREATE ROLE api_tenant NOLOGIN NOSUPERUSER NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object THEN NULL; END $$;
    GRANT USAGE ON SCHEMA api TO api_tenant;
    GRANT SELECT, INSERT, UPDATE, DELETE ON organisations, memberships, users TO api_tenant;
    GRANT SELECT, INSERT ON audit TO api_tenant;
    GRANT USAGE ON SEQUENCE audit_id_seq TO api_tenant;

    ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
    CREATE POLICY member_reads ON organisations FOR SELECT USING (id IN (SELECT my_organisations()));
    CREATE POLICY member_changes ON organisations FOR UPDATE USING (id IN (SELECT my_organisations()));
    CREATE POLICY owner_deletes ON organisations FOR DELETE USING (owner = current_sub());
    CREATE POLICY anyone_creates_own ON organisations FOR INSERT WITH CHECK (owner = current_sub() AND NOT is_default);
    ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
    CREATE POLICY member_reads ON memberships FOR SELECT USING (organisation_id IN (SELECT my_organisations()));
    CREATE POLICY member_changes ON memberships FOR UPDATE USING (organisation_id IN (SELECT my_organisations()));
    CREATE POLICY member_deletes ON memberships FOR DELETE USING (organisation_id IN (SELECT my_organisations()));
    CREATE POLICY member_or_owner_adds ON memberships FOR INSERT
      WITH CHECK (organisation_id IN (SELECT my_organisations()) OR owns(organisation_id));
    ALTER TABLE users ENABLE ROW LEVEL SECURITY;
    CREATE POLICY self ON users USING (sub = current_sub());
    CREATE POLICY adds_others ON users FOR INSERT WITH CHECK (true);
    ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
    CREATE POLICY member_reads ON audit FOR SELECT USING (organisation_id IN (SELECT my_organisations()));
    CREATE POLICY member_writes ON audit FOR INSERT WITH CHECK (organisation_id IN (SELECT my_organisations()))`,
  },
  {
    id: '003_entities',
    // Registers, schemas and objects belong to one organisation. An object's register and schema
    // are referenced together with the object's organisation, so the database itself refuses an
    // object whose register or schema belongs to another organisation.
    sql: `CREATE TABLE registers (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organisation_id uuid NOT NULL REFERENCES organisations ON DELETE CASCADE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organisation_id)
    );
    CREATE TABLE schemas (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organisation_id uuid NOT NULL REFERENCES organisations ON DELETE CASCADE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (id, organisation_id)
    );
    CREATE TABLE objects (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organisation_id uuid NOT NULL REFERENCES organisations ON DELETE CASCADE,
      register_id uuid NOT NULL,
      schema_id uuid NOT NULL,
      name text NOT NULL,
      data jsonb NOT NULL DEFAULT '{}',
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (register_id, organisation_id) REFERENCES registers (id, organisation_id),
      FOREIGN KEY (schema_id, organisation_id) REFERENCES schemas (id, organisation_id)
    );
    CREATE INDEX registers_organisation ON registers (organisation_id, name);
    CREATE INDEX schemas_organisation ON schemas (organisation_id, name);
    CREATE INDEX objects_organisation ON objects (organisation_id, name);
    CREATE INDEX objects_register ON objects (register_id);
    CREATE INDEX objects_schema ON objects (schema_id);
    GRANT SELECT, INSERT, UPDATE, DELETE ON registers, schemas, objects TO api_tenant;
    ALTER TABLE registers ENABLE ROW LEVEL SECURITY;
    ALTER TABLE schemas ENABLE ROW LEVEL SECURITY;
    ALTER TABLE objects ENABLE ROW LEVEL SECURITY;
    CREATE POLICY members ON registers USING (organisation_id IN (SELECT my_organisations()));
    CREATE POLICY members ON schemas USING (organisation_id IN (SELECT my_organisations()));
    CREATE POLICY members ON objects USING (organisation_id IN (SELECT my_organisations()))`,
  },
  {
    id: '004_default_private',
    // Every user lands in the default organisation, so it is no team: there a member sees their
    // own registers, schemas, objects, membership and audit entries, and nobody else's.
    sql: `CREATE FUNCTION default_organisation() RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = api
      AS $$ SELECT id FROM organisations WHERE is_default $$;
    DROP POLICY members ON registers;
    DROP POLICY members ON schemas;
    DROP POLICY members ON objects;
    CREATE POLICY members ON registers USING (organisation_id IN (SELECT my_organisations())
      AND (organisation_id IS DISTINCT FROM (SELECT default_organisation()) OR created_by = current_sub()));
    CREATE POLICY members ON schemas USING (organisation_id IN (SELECT my_organisations())
      AND (organisation_id IS DISTINCT FROM (SELECT default_organisation()) OR created_by = current_sub()));
    CREATE POLICY members ON objects USING (organisation_id IN (SELECT my_organisations())
      AND (organisation_id IS DISTINCT FROM (SELECT default_organisation()) OR created_by = current_sub()));
    DROP POLICY member_reads ON memberships;
    CREATE POLICY member_reads ON memberships FOR SELECT USING (organisation_id IN (SELECT my_organisations())
      AND (organisation_id IS DISTINCT FROM (SELECT default_organisation()) OR user_sub = current_sub()));
    DROP POLICY member_reads ON audit;
    CREATE POLICY member_reads ON audit FOR SELECT USING (organisation_id IN (SELECT my_organisations())
      AND (organisation_id IS DISTINCT FROM (SELECT default_organisation()) OR actor = current_sub()))`,
  },
];
