// The kit's scripts are bash and its tests use Unix file modes: they run on Linux and macOS.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
