namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>Where tests leave files for people to look at: <c>TestResults/</c> at the repository root.</summary>
public static class TestArtifacts
{
    public static string Folder
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ClaudeCoord.slnx")))
            {
                folder = folder.Parent;
            }

            var results = Path.Combine(folder?.FullName ?? AppContext.BaseDirectory, "TestResults");
            Directory.CreateDirectory(results);
            return results;
        }
    }

    public static async Task<string> SaveAsync(string name, byte[] content)
    {
        var path = Path.Combine(Folder, name);
        await File.WriteAllBytesAsync(path, content);
        return path;
    }
}
