using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ClaudeCoord.Service.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, as numbered migrations. A database at version N has run migrations 1..N; the
/// version lives in <see cref="VersionTable"/>. Migrations only ever add (expand), so a process of the
/// previous version keeps working on a migrated database during a rolling upgrade.
/// </summary>
internal static class PostgresSchema
{
    public const string ClaimsTable = "claude_coord_claims";
    public const string VersionTable = "claude_coord_schema_version";

    /// <summary>Claim states; the partial unique indexes hold only <see cref="Active"/> rows.</summary>
    public const string Active = "active";
    public const string Completed = "completed";

    /// <summary>
    /// The database's clock, as every statement reads it. It is <c>now()</c> behind a function of the schema
    /// (a one-line SQL function, inlined by the planner) so that a test database can put a controllable
    /// clock in its place; a production database never replaces it.
    /// </summary>
    public const string Now = "claude_coord_now()";

    /// <summary>Migration <c>i</c> (0-based) brings the schema to version <c>i + 1</c>.</summary>
    public static IReadOnlyList<string> Migrations { get; } =
    [
        $"""
        CREATE FUNCTION {Now} RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS 'SELECT now()';
        CREATE TABLE {ClaimsTable} (
            id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            repo              text        NOT NULL,
            task_id           text        NOT NULL,
            session_id        text        NOT NULL,
            branch            text        NOT NULL,
            plan_file         text,
            state             text        NOT NULL DEFAULT '{Active}' CHECK (state IN ('{Active}', '{Completed}')),
            claimed_at        timestamptz NOT NULL DEFAULT {Now},
            completed_at      timestamptz,
            completion_reason text,
            branch_seen       boolean     NOT NULL DEFAULT false,
            branch_seen_ahead boolean     NOT NULL DEFAULT false,
            CHECK ((state = '{Active}') = (completed_at IS NULL)),
            CHECK ((state = '{Active}') = (completion_reason IS NULL))
        );
        -- SPEC.md "Claim semantics": at most one active claim per (repo, task_id) and per (repo, session_id).
        CREATE UNIQUE INDEX {ClaimsTable}_active_task    ON {ClaimsTable} (repo, task_id)    WHERE state = '{Active}';
        CREATE UNIQUE INDEX {ClaimsTable}_active_session ON {ClaimsTable} (repo, session_id) WHERE state = '{Active}';
        CREATE INDEX {ClaimsTable}_active_branch   ON {ClaimsTable} (repo, branch)       WHERE state = '{Active}';
        CREATE INDEX {ClaimsTable}_active_age      ON {ClaimsTable} (claimed_at)         WHERE state = '{Active}';
        CREATE INDEX {ClaimsTable}_completed       ON {ClaimsTable} (repo, completed_at) WHERE state = '{Completed}';
        CREATE INDEX {ClaimsTable}_completed_age   ON {ClaimsTable} (completed_at)       WHERE state = '{Completed}';
        """,
    ];

    /// <summary>The version this code reads and writes.</summary>
    public static int CurrentVersion => Migrations.Count;

    public const string CreateVersionTable = $"""
        CREATE TABLE IF NOT EXISTS {VersionTable} (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version   integer NOT NULL
        )
        """;

    /// <summary>Serializes schema creation and migration across processes (a transaction-level lock).</summary>
    public static long MigrationLockKey { get; } = AdvisoryLockKey("claude-coord/schema-migration");

    /// <summary>The session-level advisory lock key of a background job.</summary>
    public static long JobLockKey(string jobName) => AdvisoryLockKey("claude-coord/job/" + jobName);

    // A stable 64-bit key from a name: advisory locks share one key space per database with any other
    // application using them, so a hash of a namespaced name is far less likely to collide than a small constant.
    private static long AdvisoryLockKey(string name) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
}
