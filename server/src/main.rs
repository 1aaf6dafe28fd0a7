use std::process::ExitCode;

use clap::Parser;
use server::{Command, Config, Error, ModelCommand, StoreCommand, model_folder, telemetry};

// Requests allocate on one worker thread and free on another; glibc's
// allocator then contends on its arena locks, mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sepal: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    // A missing .env is normal; a broken one is not.
    if let Err(err) = dotenvy::dotenv()
        && !err.not_found()
    {
        return Err(Error::DotEnv(err));
    }
    let config = Config::parse();
    telemetry::init(config.log_format, &config.log)?;
    match config.command {
        None => server::serve(config).await,
        Some(Command::Store {
            action: StoreCommand::Init,
        }) => {
            println!("{}", server::store::init(&config.store).await?);
            Ok(())
        }
        Some(Command::Model { action }) => {
            let report = match &action {
                ModelCommand::Init {
                    onnx,
                    data,
                    target,
                    name,
                    version,
                    out,
                } => model_folder::init(&model_folder::Init {
                    onnx,
                    data,
                    target: target.as_deref(),
                    name,
                    version,
                    out,
                })?,
                ModelCommand::Check { dir, data, target } => {
                    model_folder::check(dir, data.as_deref().map(|d| (d, target.as_deref())))?
                }
            };
            println!("{report}");
            Ok(())
        }
    }
}
