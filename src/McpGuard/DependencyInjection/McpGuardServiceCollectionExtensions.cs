using System.Diagnostics.CodeAnalysis;
using McpGuard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <see cref="McpGuardServiceCollectionExtensions.AddMcpGuard"/> to add policies, approval handlers and evidence sinks.</summary>
public interface IMcpGuardBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

/// <summary>Registers McpGuard in a service collection.</summary>
public static class McpGuardServiceCollectionExtensions
{
    /// <summary>
    /// Adds McpGuard: <see cref="McpGuardOptions"/> (validated at startup), a singleton <see cref="McpGuardEngine"/>, and
    /// <see cref="TimeProvider.System"/> unless one is registered. Safe to call more than once.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options in code; runs after configuration binding registered earlier.</param>
    /// <returns>A builder for policies, approval handlers and evidence sinks.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IMcpGuardBuilder AddMcpGuard(this IServiceCollection services, Action<McpGuardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<McpGuardOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<McpGuardOptions>, McpGuardOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var registry = new GuardCredentialRegistry(sp.GetRequiredService<IOptions<McpGuardOptions>>().Value.Credentials.MinimumSecretLength);
            foreach (CredentialRegistration c in sp.GetServices<CredentialRegistration>())
            {
                registry.Add(c.Label, c.Resource, c.Secret, c.Scopes, c.ServerName);
            }

            return registry;
        });
        services.TryAddSingleton(sp => new McpGuardEngine(
            sp.GetRequiredService<IOptions<McpGuardOptions>>().Value,
            sp.GetServices<IToolCallPolicy>(),
            sp.GetService<IToolApprovalHandler>(),
            sp.GetServices<IGuardEvidenceSink>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<IPinStore>(),
            sp.GetService<ICatalogChangeApprovalHandler>(),
            sp.GetServices<IInjectionDetector>(),
            sp.GetService<IElicitationApprovalHandler>(),
            sp.GetRequiredService<GuardCredentialRegistry>(),
            sp.GetService<IScopeStepUpApprovalHandler>()));
        return new McpGuardBuilder(services);
    }

    /// <summary>Binds <see cref="McpGuardOptions"/> from a configuration section (usually <c>McpGuard</c>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The section whose keys mirror <see cref="McpGuardOptions"/> (e.g. <c>Servers:filesystem:Tools:read_file:Access</c>).</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder BindConfiguration(this IMcpGuardBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.Configure<McpGuardOptions>(section);
        return builder;
    }

    /// <summary>Adds a custom policy type (singleton), evaluated after the built-in stages in registration order.</summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddPolicy<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPolicy>(this IMcpGuardBuilder builder)
        where TPolicy : class, IToolCallPolicy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IToolCallPolicy, TPolicy>());
        return builder;
    }

    /// <summary>Adds a custom policy from a delegate.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="policy">Returns the decision for a call.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddPolicy(this IMcpGuardBuilder builder, Func<ToolCallContext, CancellationToken, ValueTask<GuardDecision>> policy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(policy);
        builder.Services.AddSingleton<IToolCallPolicy>(new DelegateToolCallPolicy(policy));
        return builder;
    }

    /// <summary>Sets the approval handler type (singleton); replaces an earlier one.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddApprovalHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IMcpGuardBuilder builder)
        where THandler : class, IToolApprovalHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IToolApprovalHandler, THandler>());
        return builder;
    }

    /// <summary>Sets the approval handler from a delegate; replaces an earlier one.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="handler">Answers an approval request.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddApprovalHandler(this IMcpGuardBuilder builder, Func<ToolApprovalRequest, CancellationToken, ValueTask<ToolApprovalResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(handler);
        builder.Services.Replace(ServiceDescriptor.Singleton<IToolApprovalHandler>(new DelegateToolApprovalHandler(handler)));
        return builder;
    }

    /// <summary>Adds an evidence sink type (singleton).</summary>
    /// <typeparam name="TSink">The sink type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddEvidenceSink<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TSink>(this IMcpGuardBuilder builder)
        where TSink : class, IGuardEvidenceSink
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IGuardEvidenceSink, TSink>());
        return builder;
    }

    /// <summary>Adds an evidence sink from a delegate.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="sink">Writes one event.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddEvidenceSink(this IMcpGuardBuilder builder, Func<GuardEvidence, CancellationToken, ValueTask> sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sink);
        builder.Services.AddSingleton<IGuardEvidenceSink>(new DelegateEvidenceSink(sink));
        return builder;
    }

    /// <summary>Sets the pin store used by catalog pinning (replaces an earlier one).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="store">The store.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddPinStore(this IMcpGuardBuilder builder, IPinStore store)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(store);
        builder.Services.Replace(ServiceDescriptor.Singleton(store));
        return builder;
    }

    /// <summary>Sets the reviewer for blocked catalog changes from a delegate (replaces an earlier one).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="reviewer">Reviews one change; an approval updates the pin store.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddCatalogChangeApprovalHandler(this IMcpGuardBuilder builder, Func<CatalogChangeRequest, CancellationToken, ValueTask<CatalogChangeDecision>> reviewer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(reviewer);
        builder.Services.Replace(ServiceDescriptor.Singleton<ICatalogChangeApprovalHandler>(new DelegateCatalogChangeApprovalHandler(reviewer)));
        return builder;
    }

    /// <summary>Adds an injection detector (singleton); with none registered, the built-in detector is used.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="detector">The detector.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddInjectionDetector(this IMcpGuardBuilder builder, IInjectionDetector detector)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(detector);
        builder.Services.AddSingleton(detector);
        return builder;
    }

    /// <summary>Sets the handler type (singleton) that decides on flagged elicitation requests; replaces an earlier one.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddElicitationApprovalHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IMcpGuardBuilder builder)
        where THandler : class, IElicitationApprovalHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IElicitationApprovalHandler, THandler>());
        return builder;
    }

    /// <summary>Sets the decision point for flagged elicitation requests from a delegate; replaces an earlier one.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="handler">Decides on one flagged request; without a handler, flagged requests are declined.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddElicitationApprovalHandler(this IMcpGuardBuilder builder, Func<ElicitationApprovalRequest, CancellationToken, ValueTask<ElicitationApprovalDecision>> handler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(handler);
        builder.Services.Replace(ServiceDescriptor.Singleton<IElicitationApprovalHandler>(new DelegateElicitationApprovalHandler(handler)));
        return builder;
    }

    /// <summary>Registers a static credential the host holds (API key or bearer token), bound to the resource it was issued for. See <see cref="GuardCredentialRegistry.Add"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="label">The host's label, e.g. <c>crm:read-only</c> (evidence shows it; never the secret).</param>
    /// <param name="resource">The resource (MCP server URI) it was issued for (RFC 8707).</param>
    /// <param name="secret">The secret value; read it from a secret store, not from a configuration file.</param>
    /// <param name="scopes">The scopes it carries.</param>
    /// <param name="serverName">Optionally, the only server whose handler may send it.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddCredential(this IMcpGuardBuilder builder, string label, Uri resource, string secret, IEnumerable<string>? scopes = null, string? serverName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(label);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(secret);
        builder.Services.AddSingleton(new CredentialRegistration(label, resource, secret, [.. scopes ?? []], serverName));
        return builder;
    }

    /// <summary>Sets the scope step-up approval handler type (singleton); replaces an earlier one.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddScopeStepUpApprovalHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IMcpGuardBuilder builder)
        where THandler : class, IScopeStepUpApprovalHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IScopeStepUpApprovalHandler, THandler>());
        return builder;
    }

    /// <summary>Sets the scope step-up approval handler from a delegate; replaces an earlier one. Without a handler every step-up is refused.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="handler">Answers one step-up request.</param>
    /// <returns>The builder.</returns>
    public static IMcpGuardBuilder AddScopeStepUpApprovalHandler(this IMcpGuardBuilder builder, Func<ScopeStepUpRequest, CancellationToken, ValueTask<ScopeStepUpResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(handler);
        builder.Services.Replace(ServiceDescriptor.Singleton<IScopeStepUpApprovalHandler>(new DelegateScopeStepUpApprovalHandler(handler)));
        return builder;
    }

    private sealed record CredentialRegistration(string Label, Uri Resource, string Secret, string[] Scopes, string? ServerName);

    private sealed class McpGuardBuilder(IServiceCollection services) : IMcpGuardBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
