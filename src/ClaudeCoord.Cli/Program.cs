using ClaudeCoord.Cli;

return await CliApp.RunAsync(args, CliHost.FromProcess()).ConfigureAwait(false);
