// Placeholder entry point: the CLI work replaces this with the System.CommandLine root.
return 64;
