using PgHaConsole.Web.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddPgHaConsole();

var app = builder.Build();
await app.PrepareStoreAsync();
app.MapPgHaConsole();
await app.RunAsync();

/// <summary>Entry point; public so WebApplicationFactory can host it in tests.</summary>
public partial class Program;
