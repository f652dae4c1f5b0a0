namespace ClaudeCoord.Cli.Setup;

/// <summary>The files <c>init</c> writes into a project, shipped in <c>templates/</c> and embedded in the CLI.</summary>
internal static class ProjectTemplates
{
    /// <summary>Where the SessionStart hook script goes, relative to the repository root.</summary>
    public const string HookPath = ".claude/hooks/session-start-coord.sh";

    /// <summary>Claude Code's project settings file, relative to the repository root.</summary>
    public const string SettingsPath = ".claude/settings.json";

    /// <summary>The example plan's file name inside the plan folder.</summary>
    public const string ExamplePlanName = "example-plan.json";

    /// <summary>The hook command registered in settings.json: the project's script, wherever Claude Code runs it from.</summary>
    public const string HookCommand = "\"$CLAUDE_PROJECT_DIR\"/" + HookPath;

    /// <summary>A SessionStart matcher that fires on every source of a session start.</summary>
    public const string AllSourcesMatcher = "startup|resume|clear|compact";

    /// <summary>The sources a SessionStart hook can fire for.</summary>
    public static readonly IReadOnlyList<string> SessionSources = ["startup", "resume", "clear", "compact"];

    /// <summary>templates/session-start-hook.sh.</summary>
    public static byte[] HookScript => Read("templates/session-start-hook.sh");

    /// <summary>templates/plan.example.json.</summary>
    public static byte[] ExamplePlan => Read("templates/plan.example.json");

    private static byte[] Read(string name)
    {
        using var stream = typeof(ProjectTemplates).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded template {name} is missing from the build");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
