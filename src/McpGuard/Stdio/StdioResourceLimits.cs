using System.Globalization;
using System.Text.Json.Nodes;

namespace McpGuard;

/// <summary>
/// Resource limits of a sandboxed local (stdio) server (<c>Stdio:Sandbox:Limits</c>), so a runaway or hostile server
/// cannot exhaust the host's memory, disk or file descriptors. The process limits are POSIX resource limits
/// (<c>setrlimit(2)</c>: <c>RLIMIT_DATA</c>, <c>RLIMIT_FSIZE</c>, <c>RLIMIT_NOFILE</c>, <c>RLIMIT_CPU</c>), set with
/// util-linux <c>prlimit</c> inside the sandbox just before the server starts, soft and hard alike, so the server cannot
/// raise them; they are inherited by every process it starts. <see cref="TmpSizeBytes"/> sizes the sandbox's private
/// in-memory <c>/tmp</c> (bubblewrap <c>--size</c>). Every limit is off unless set.
/// </summary>
/// <remarks>
/// <para>What a server sees when it reaches a limit: an allocation beyond <see cref="MaxMemoryBytes"/> fails (Node.js
/// aborts with "heap out of memory"; the guard then records the lost connection); a write beyond
/// <see cref="MaxFileSizeBytes"/> fails with <c>EFBIG</c> (the process is killed by <c>SIGXFSZ</c> unless it ignores the
/// signal, as Node.js does); opening more than <see cref="MaxOpenFiles"/> descriptors fails with <c>EMFILE</c>; after
/// <see cref="MaxCpuSeconds"/> of CPU time the process is killed; <c>/tmp</c> beyond <see cref="TmpSizeBytes"/> fails with
/// <c>ENOSPC</c>.</para>
/// <para>Not covered: the number of processes (<c>RLIMIT_NPROC</c> is per user, not per sandbox, and does not bind a
/// root host), and disk use in read-write grants as a whole (the file size limit is per file). Linux only, like the
/// sandbox.</para>
/// </remarks>
public sealed class StdioResourceLimits
{
    /// <summary>Largest data segment (heap and other private writable memory), in bytes (<c>RLIMIT_DATA</c>).</summary>
    /// <value>Default: <see langword="null"/> (no limit). Range: 16 MiB–1 TiB.</value>
    public long? MaxMemoryBytes { get; set; }

    /// <summary>Largest file the server may write, in bytes (<c>RLIMIT_FSIZE</c>); per file.</summary>
    /// <value>Default: <see langword="null"/> (no limit). Range: 4 KiB–1 TiB.</value>
    public long? MaxFileSizeBytes { get; set; }

    /// <summary>Most file descriptors open at once (<c>RLIMIT_NOFILE</c>).</summary>
    /// <value>Default: <see langword="null"/> (no limit beyond the host's). Range: 32–1,048,576.</value>
    public int? MaxOpenFiles { get; set; }

    /// <summary>CPU time in seconds over the server's whole life, after which it is killed (<c>RLIMIT_CPU</c>).</summary>
    /// <value>Default: <see langword="null"/> (no limit). Range: 1 s–30 days.</value>
    public int? MaxCpuSeconds { get; set; }

    /// <summary>Size of the sandbox's private in-memory <c>/tmp</c>, in bytes.</summary>
    /// <value>Default: <see langword="null"/> (the kernel's default for a tmpfs, half of the host's memory). Range: 64 KiB–1 TiB.</value>
    public long? TmpSizeBytes { get; set; }

    private const long MiB = 1024 * 1024;
    private const long TiB = 1024 * 1024 * MiB;

    /// <summary>Whether any limit is set.</summary>
    internal bool IsSet => HasProcessLimits || TmpSizeBytes is not null;

    /// <summary>Whether any limit needs <c>prlimit</c>.</summary>
    internal bool HasProcessLimits => MaxMemoryBytes is not null || MaxFileSizeBytes is not null || MaxOpenFiles is not null || MaxCpuSeconds is not null;

    /// <summary>The <c>prlimit</c> options (soft and hard limit alike), in a fixed order.</summary>
    internal IEnumerable<string> PrlimitOptions()
    {
        if (MaxMemoryBytes is { } data)
        {
            yield return Option("--data", data);
        }

        if (MaxFileSizeBytes is { } fsize)
        {
            yield return Option("--fsize", fsize);
        }

        if (MaxOpenFiles is { } nofile)
        {
            yield return Option("--nofile", nofile);
        }

        if (MaxCpuSeconds is { } cpu)
        {
            yield return Option("--cpu", cpu);
        }

        static string Option(string name, long value) => string.Create(CultureInfo.InvariantCulture, $"{name}={value}:{value}");
    }

    /// <summary>Evidence and inventory form: the limits that are set.</summary>
    internal JsonObject ToJson()
    {
        var json = new JsonObject();
        Add("maxMemoryBytes", MaxMemoryBytes);
        Add("maxFileSizeBytes", MaxFileSizeBytes);
        Add("maxOpenFiles", MaxOpenFiles);
        Add("maxCpuSeconds", MaxCpuSeconds);
        Add("tmpSizeBytes", TmpSizeBytes);
        return json;

        void Add(string name, long? value)
        {
            if (value is { } v)
            {
                json[name] = v;
            }
        }
    }

    internal void Validate(string prefix, List<string> failures)
    {
        Check("MaxMemoryBytes", MaxMemoryBytes, 16 * MiB, TiB);
        Check("MaxFileSizeBytes", MaxFileSizeBytes, 4096, TiB);
        Check("MaxOpenFiles", MaxOpenFiles, 32, 1_048_576);
        Check("MaxCpuSeconds", MaxCpuSeconds, 1, 30L * 24 * 3600);
        Check("TmpSizeBytes", TmpSizeBytes, 64 * 1024, TiB);

        void Check(string name, long? value, long min, long max)
        {
            if (value is { } v && (v < min || v > max))
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}:{name} is {v}; set it between {min} and {max}, or leave it empty for no limit."));
            }
        }
    }
}
