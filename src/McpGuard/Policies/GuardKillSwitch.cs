using System.Collections.Concurrent;

namespace McpGuard;

/// <summary>
/// Runtime kill switch: the host disables a registered server or a single tool, and every new call is denied at once
/// (rules <c>server.disabled</c>, <c>tool.disabled</c>) with evidence, until the host re-enables it explicitly.
/// </summary>
/// <remarks>
/// Thread-safe; changes take effect for the next decision in every session. Calls already sent to the server are not
/// recalled. A disabled tool is also removed from later <c>tools/list</c> results. Initial state comes from
/// <see cref="GuardServerOptions.Enabled"/>.
/// </remarks>
public sealed class GuardKillSwitch
{
    private readonly ConcurrentDictionary<string, string> _disabledServers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Server, string Tool), string> _disabledTools = new();
    private readonly Action<string, string?, bool, string?> _onChange;

    internal GuardKillSwitch(IEnumerable<KeyValuePair<string, GuardServerOptions>> servers, Action<string, string?, bool, string?> onChange)
    {
        foreach (KeyValuePair<string, GuardServerOptions> server in servers)
        {
            if (!server.Value.Enabled)
            {
                _disabledServers[server.Key] = "Disabled in configuration.";
            }
        }

        _onChange = onChange;
    }

    /// <summary>Disables a server: new connections are refused and new calls denied.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="reason">Host-facing reason recorded in evidence.</param>
    /// <exception cref="ArgumentException"><paramref name="serverName"/> or <paramref name="reason"/> is empty.</exception>
    public void DisableServer(string serverName, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        _disabledServers[serverName] = reason;
        _onChange(serverName, null, false, reason);
    }

    /// <summary>Re-enables a server disabled by <see cref="DisableServer"/> or by configuration.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <exception cref="ArgumentException"><paramref name="serverName"/> is empty.</exception>
    public void EnableServer(string serverName)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        if (_disabledServers.TryRemove(serverName, out _))
        {
            _onChange(serverName, null, true, null);
        }
    }

    /// <summary>Disables one tool of one server.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="toolName">Tool name (ordinal).</param>
    /// <param name="reason">Host-facing reason recorded in evidence.</param>
    /// <exception cref="ArgumentException">An argument is empty.</exception>
    public void DisableTool(string serverName, string toolName, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        ArgumentException.ThrowIfNullOrEmpty(toolName);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        _disabledTools[(serverName, toolName)] = reason;
        _onChange(serverName, toolName, false, reason);
    }

    /// <summary>Re-enables one tool.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="toolName">Tool name.</param>
    /// <exception cref="ArgumentException">An argument is empty.</exception>
    public void EnableTool(string serverName, string toolName)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        ArgumentException.ThrowIfNullOrEmpty(toolName);
        if (_disabledTools.TryRemove((serverName, toolName), out _))
        {
            _onChange(serverName, toolName, true, null);
        }
    }

    /// <summary>Whether the server is disabled.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <returns><see langword="true"/> if disabled.</returns>
    public bool IsServerDisabled(string serverName) => _disabledServers.ContainsKey(serverName);

    /// <summary>Whether the tool (or its whole server) is disabled.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="toolName">Tool name.</param>
    /// <returns><see langword="true"/> if disabled.</returns>
    public bool IsToolDisabled(string serverName, string toolName) =>
        _disabledServers.ContainsKey(serverName) || (!_disabledTools.IsEmpty && _disabledTools.ContainsKey((serverName, toolName)));

    internal string? ServerDisabledReason(string serverName) => _disabledServers.TryGetValue(serverName, out string? r) ? r : null;

    internal string? ToolDisabledReason(string serverName, string toolName) =>
        !_disabledTools.IsEmpty && _disabledTools.TryGetValue((serverName, toolName), out string? r) ? r : null;
}
