using System.CommandLine;
using ClaudeCoord.LoadGen;

// claude-coord-loadgen: the benchmark's client side (bench/run.sh). Every command prints one JSON object.
var root = new RootCommand("claude-coord-loadgen: load generator and helpers for bench/run.sh")
{
    RunCommand.Create(),
    SeedSqliteCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
