namespace ClaudeCoord.TestSupport;

/// <summary>The test vector repository of SPEC.md ("The token"), built exactly as SPEC.md says.</summary>
public static class SpecFixture
{
    public const string ExpectedHead = "fbf144caaf4f5e81f067d3ee8206f353cf3c988e";
    public const string ExpectedAlpha = "dc2f68f0a69f4f2e31fece72d74dd71de0a8a813";
    public const string ExpectedBeta = "c26b4340fab22dfcaef2ec28b5a595f41bd3ccf5";
    public const string ExpectedToken = "sha256:170d65739e5c9c8e28b8f99e50606e84f968d6d71525cba0fee85ceb91b1e431";

    public const string AlphaJson = """{"plan_name":"A","last_updated":"2026-01-01","tasks":[{"id":"task-a","name":"A","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}""";
    public const string BetaJson = """{"plan_name":"B","last_updated":"2026-01-02","tasks":[{"id":"task-b","name":"B","status":"pending","priority":2,"blocked_by":"task-a","steps":[],"acceptance_criteria":[]}]}""";

    /// <summary>Creates the three-commit repository of the test vector.</summary>
    public static TempGitRepository Create()
    {
        var repo = TempGitRepository.Init();
        repo.WriteFile("context/alpha.json", AlphaJson + "\n").WriteFile("README.md", "# readme\n");
        repo.CommitAll("first", "2026-01-01T12:00:00Z");
        repo.WriteFile("context/beta.json", BetaJson + "\n");
        repo.CommitAll("second", "2026-01-02T12:00:00Z");
        repo.WriteFile("README.md", "# readme\nmore\n").WriteFile("context/notes.txt", "notes\n").WriteFile("context/sub/nested.json", "{}\n");
        repo.CommitAll("third", "2026-01-03T12:00:00Z");
        return repo;
    }
}
