using System.Globalization;
using System.Text;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Postgres;

/// <summary>One configuration parameter. <see cref="IsString"/> decides the quoting: numbers and keywords stay bare.</summary>
public sealed record GucSetting(string Name, string Value, bool IsString)
{
    public static GucSetting Text(string name, string value) => new(name, value, true);

    public static GucSetting Number(string name, long value) => new(name, value.ToString(CultureInfo.InvariantCulture), false);

    /// <summary>A keyword such as <c>on</c> or <c>replica</c>: only lowercase letters, digits and '_' are accepted.</summary>
    public static GucSetting Keyword(string name, string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')
            ? new(name, value, false)
            : throw new ArgumentException($"'{value}' is not a bare keyword; use Text().", nameof(value));

    /// <summary><c>name = value</c> as it goes into postgresql.conf or postgresql.auto.conf.</summary>
    public string ToFileLine() => $"{Name} = {(IsString ? GucValue.QuoteForFile(Value) : Value)}";

    /// <summary><c>ALTER SYSTEM SET name = value;</c></summary>
    public string ToAlterSystem() => $"ALTER SYSTEM SET {GucValue.QuoteIdentifier(Name)} = {(IsString ? GucValue.QuoteForSql(Value) : Value)};";
}

/// <summary>Inputs of <see cref="PostgresSettingsRenderer"/> that are not in the cluster model.</summary>
public sealed record PostgresSettingsOptions
{
    /// <summary>Addresses PostgreSQL listens on; when null, the node's own address and <c>localhost</c>.</summary>
    public IReadOnlyList<string>? ListenAddresses { get; init; }

    /// <summary><c>max_connections</c> currently in effect on the primary (read with <c>SHOW max_connections</c>).</summary>
    public int PrimaryMaxConnections { get; init; } = 100;

    /// <summary><c>max_connections</c> the user asked for, if any (the runbook: 300 on the primary, 1000 on the standby).</summary>
    public int? MaxConnections { get; init; }

    /// <summary>
    /// Off by default. On, the standby tells the primary which rows its queries still need, so long read queries on
    /// the standby are not cancelled by vacuum; the price is bloat on the primary while they run. A choice for the
    /// DBA, not a requirement of replication.
    /// </summary>
    public bool HotStandbyFeedback { get; init; }

    /// <summary>WAL kept for a standby that falls behind: the runbook's 256 segments of 16 MB.</summary>
    public int WalKeepSegments { get; init; } = 256;

    public int MaxWalSenders { get; init; } = 10;
}

/// <summary>
/// The postgresql.conf settings of setup step 5, the same on both nodes so that either can be primary or standby.
/// Version-aware: <c>wal_keep_segments</c> up to 12, <c>wal_keep_size</c> from 13 (the former was removed). Nothing
/// recovery-related is here: see <see cref="RecoveryConfigRenderer"/>.
/// </summary>
public static class PostgresSettingsRenderer
{
    public const string IncludeFileName = "pghaconsole.conf";

    /// <summary>The include file, relative to the data directory.</summary>
    public const string IncludeFileRelativePath = "conf.d/" + IncludeFileName;

    /// <summary>The line that makes postgresql.conf read the console's file (relative paths resolve against the file that includes).</summary>
    public static string IncludeDirective(string includePath = IncludeFileRelativePath) =>
        $"include_if_exists = {GucValue.QuoteForFile(includePath)}";

    public static IReadOnlyList<GucSetting> Settings(ClusterSpec cluster, NodeSpec node, PostgresSettingsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(node);
        options ??= new PostgresSettingsOptions();
        var major = cluster.Postgres.MajorVersion;
        RequireSupported(major);

        // Not '*' with HAProxy: with '*' PostgreSQL takes its port on every address, the VIPs included, and HAProxy (or anything
        // else) could no longer bind <VIP>:<port>. The node's own address serves replication and the balancer's
        // forwarded connections; localhost serves local tools and the keepalived check script's socket-less fallback.
        // LVS-DR is the exception: a director forwards packets whose destination is still the VIP (on lo on every node,
        // see LvsRenderer), so PostgreSQL must accept connections there; no HAProxy competes for <VIP>:<port> in that
        // mode, and '*' is the same on both nodes, so a pg_rewind/pg_basebackup copy of the file cannot carry the
        // peer's address.
        var listen = options.ListenAddresses
            ?? (cluster.Balancer == BalancerMode.LvsDr ? ["*"] : [node.Address, "localhost"]);
        if (listen.Count == 0 || listen.Any(a => a.Length == 0 || a.Any(c => c is ',' or ' ' or '\'' or '\\' || char.IsControl(c))))
        {
            throw new ArgumentException("listen_addresses needs at least one address, without commas, spaces or quotes.", nameof(options));
        }

        // The standby refuses to start (hot standby) when its max_connections is lower than the primary's. Roles
        // swap at every switchover, so both nodes get max(primary's current value, configured value): whichever node
        // becomes the standby is then never below the primary.
        var maxConnections = Math.Max(options.PrimaryMaxConnections, options.MaxConnections ?? options.PrimaryMaxConnections);
        if (maxConnections <= options.MaxWalSenders)
        {
            throw new ArgumentException("max_connections must be larger than max_wal_senders.", nameof(options));
        }

        var list = new List<GucSetting>
        {
            GucSetting.Text("listen_addresses", string.Join(',', listen)),
            GucSetting.Number("port", cluster.Postgres.Port),
            GucSetting.Number("max_connections", maxConnections),
            GucSetting.Keyword("wal_level", "replica"),
            GucSetting.Number("max_wal_senders", options.MaxWalSenders),
        };

        if (major <= 12)
        {
            list.Add(GucSetting.Number("wal_keep_segments", options.WalKeepSegments));
        }
        else
        {
            // wal_keep_segments was replaced in 13 by a size; 256 segments of the default 16 MB = 4096MB.
            list.Add(GucSetting.Text("wal_keep_size", $"{options.WalKeepSegments * 16}MB"));
        }

        // Both ends notice a silent peer (a partition: no FIN, no RST) within seconds rather than a minute: the primary's
        // self-fence and the console's "the standby has lost the primary" both read these (Failover.SelfFence).
        var replicationTimeout = Failover.SelfFence.ReplicationTimeoutSeconds.ToString(CultureInfo.InvariantCulture) + "s";
        list.Add(GucSetting.Text("wal_sender_timeout", replicationTimeout));
        list.Add(GucSetting.Text("wal_receiver_timeout", replicationTimeout));
        list.Add(GucSetting.Keyword("full_page_writes", "on"));

        // pg_rewind needs wal_log_hints (or data checksums) to rewind an old primary instead of re-cloning it.
        list.Add(GucSetting.Keyword("wal_log_hints", "on"));
        list.Add(GucSetting.Keyword("hot_standby", "on"));
        list.Add(GucSetting.Keyword("hot_standby_feedback", options.HotStandbyFeedback ? "on" : "off"));
        return list;
    }

    /// <summary>The console-owned include file, with a header saying who owns it.</summary>
    public static string RenderIncludeFile(IReadOnlyList<GucSetting> settings, int majorVersion)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var sb = new StringBuilder();
        sb.Append("# ").Append(IncludeFileName).Append(" - managed by PgHaConsole for PostgreSQL ")
            .Append(majorVersion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("# Written by the setup wizard; local edits are overwritten on the next run.\n");
        sb.Append("# Read through: ").Append(IncludeDirective()).Append('\n');
        sb.Append("# Settings marked (restart) take effect only after a restart.\n\n");
        foreach (var s in settings)
        {
            sb.Append(s.ToFileLine());
            if (RequiresRestart(s.Name, majorVersion))
            {
                sb.Append("\t# (restart)");
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    public static IReadOnlyList<string> RenderAlterSystem(IReadOnlyList<GucSetting> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Select(s => s.ToAlterSystem()).ToList();
    }

    /// <summary>
    /// Whether a changed value takes effect only after a restart (context <c>postmaster</c> in pg_settings) for that
    /// major version. Unknown names answer true: restarting needlessly is safer than believing a reload applied it.
    /// </summary>
    public static bool RequiresRestart(string name, int majorVersion)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name switch
        {
            "listen_addresses" or "port" or "max_connections" or "wal_level" or "max_wal_senders" or "wal_log_hints"
                or "hot_standby" or "max_worker_processes" or "max_prepared_transactions" or "max_locks_per_transaction"
                or "recovery_target_timeline" => true,

            // 12 made them GUCs with context postmaster; 13 lets a reload restart the walreceiver with the new values.
            "primary_conninfo" or "primary_slot_name" => majorVersion <= 12,

            "wal_keep_segments" or "wal_keep_size" or "wal_sender_timeout" or "wal_receiver_timeout" or "full_page_writes" or "hot_standby_feedback" => false,
            _ => true,
        };
    }

    public static IReadOnlyList<string> RestartRequiredFor(IEnumerable<GucSetting> settings, int majorVersion) =>
        settings.Where(s => RequiresRestart(s.Name, majorVersion)).Select(s => s.Name).ToList();

    internal static void RequireSupported(int major)
    {
        if (major is < 11 or > 17)
        {
            throw new ArgumentOutOfRangeException(nameof(major), major, "PostgreSQL major version must be 11 to 17.");
        }
    }
}
