// Placeholder entry point: the service-core work replaces this with the real composition root.
var builder = WebApplication.CreateSlimBuilder(args);
var app = builder.Build();
app.MapGet("/healthz", () => TypedResults.Ok(new HealthStatus("ok")));
await app.RunAsync();

internal sealed record HealthStatus(string Status);
