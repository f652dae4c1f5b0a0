namespace ClaudeCoord.Service.Observability;

/// <summary>
/// Wraps registrations of a service in a decorator. The original registration moves under a private key,
/// so the container still creates, shares and disposes the wrapped instance exactly as before.
/// </summary>
internal static class ServiceDecoration
{
    /// <summary>Wraps every registration of <typeparamref name="TService"/> (in place, so order is kept).</summary>
    public static IServiceCollection Decorate<TService>(this IServiceCollection services, Func<IServiceProvider, TService, TService> decorate)
        where TService : class
    {
        for (var i = 0; i < services.Count; i++)
        {
            var original = services[i];
            if (original.ServiceType != typeof(TService) || original.IsKeyedService)
            {
                continue;
            }

            var key = $"{typeof(ServiceDecoration).FullName}:{typeof(TService).Name}:{i}";
            services.Add(Keyed(original, key));
            services[i] = new ServiceDescriptor(typeof(TService),
                sp => decorate(sp, sp.GetRequiredKeyedService<TService>(key)), original.Lifetime);
        }

        return services;
    }

    private static ServiceDescriptor Keyed(ServiceDescriptor original, string key)
    {
        if (original.ImplementationInstance is { } instance)
        {
            return new ServiceDescriptor(original.ServiceType, key, instance);
        }

        if (original.ImplementationFactory is { } factory)
        {
            return new ServiceDescriptor(original.ServiceType, key, (sp, _) => factory(sp), original.Lifetime);
        }

        return new ServiceDescriptor(original.ServiceType, key, original.ImplementationType!, original.Lifetime);
    }
}
