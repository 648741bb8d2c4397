#include "core/ScenarioFields.h"

namespace {

using Kind = ScenarioField::Kind;

ScenarioField field(const char* path, const char* label, const char* section, Kind kind, const char* help,
                    QStringList choices = {}, const char* catalog = "")
{
    return ScenarioField{QString::fromLatin1(path), QString::fromUtf8(label), QString::fromLatin1(section), kind,
                         std::move(choices), QString::fromLatin1(catalog), QString::fromUtf8(help)};
}

} // namespace

const QVector<ScenarioField>& scenarioFields()
{
    static const QVector<ScenarioField> fields = {
        field("name", "Name", "Scenario", Kind::Text, "Shown in run lists and reports"),
        field("extends", "Extends", "Scenario", Kind::Text, "Base scenario whose keys this one overrides"),
        field("seed", "Seed", "Scenario", Kind::Integer, "Random seed: the same seed gives the same run"),
        field("duration_s", "Duration (s)", "Scenario", Kind::Number, "Simulated time"),
        field("warmup_s", "Warm-up (s)", "Scenario", Kind::Number, "Excluded from the statistics"),

        field("deployment.model", "Model", "Model", Kind::Choice, "From scenarios/catalog/models", {}, "models"),
        field("deployment.precision", "Precision", "Model", Kind::Choice, "Weight and KV precision",
              {"bf16", "fp8", "int8", "int4"}),

        field("datacenter.gpu", "GPU", "Hardware", Kind::Choice, "From scenarios/catalog/gpus.yaml", {}, "gpus"),
        field("datacenter.server_type", "Server type", "Hardware", Kind::Choice,
              "From scenarios/catalog/servers.yaml", {}, "servers"),
        field("datacenter.halls", "Halls", "Hardware", Kind::Integer, "Data halls"),
        field("datacenter.rows_per_hall", "Rows per hall", "Hardware", Kind::Integer, "Rack rows in each hall"),
        field("datacenter.racks_per_row", "Racks per row", "Hardware", Kind::Integer, ""),
        field("datacenter.servers_per_rack", "Servers per rack", "Hardware", Kind::Integer, ""),
        field("datacenter.network.fabric.kind", "Fabric", "Hardware", Kind::Choice, "Back-end (scale-out) network",
              {"infiniband", "roce", "ethernet"}),
        field("datacenter.network.fabric.server_link_gbit_s", "Server link (Gbit/s)", "Hardware", Kind::Number, ""),
        field("datacenter.network.fabric.oversubscription", "Spine oversubscription", "Hardware", Kind::Number,
              "Downlink : uplink bandwidth ratio at the leaves"),
        field("datacenter.network.frontend.latency_ms", "Front-end latency (ms)", "Hardware", Kind::Number,
              "Client to load balancer"),

        field("deployment.replicas", "Replicas", "Deployment", Kind::Integer, "Model copies serving requests"),
        field("deployment.tensor_parallel", "Tensor parallel", "Deployment", Kind::Integer, "GPUs per replica (TP)"),
        field("deployment.expert_parallel", "Expert parallel", "Deployment", Kind::Integer, "MoE expert parallelism"),
        field("deployment.placement", "Placement", "Deployment", Kind::Choice, "Replicas packed into racks or spread",
              {"pack", "spread"}),
        field("deployment.max_batch_sequences", "Max batch (sequences)", "Deployment", Kind::Integer,
              "Continuous-batching limit per replica"),
        field("deployment.max_batch_tokens", "Max batch (tokens)", "Deployment", Kind::Integer, ""),
        field("deployment.kv_cache_memory_fraction", "KV cache memory fraction", "Deployment", Kind::Number,
              "Share of free GPU memory given to the KV cache"),
        field("deployment.chunked_prefill_tokens", "Chunked prefill (tokens)", "Deployment", Kind::Integer, ""),
        field("deployment.scheduler", "Scheduler", "Deployment", Kind::Choice, "Order of admission into the batch",
              {"fcfs", "shortest_prompt_first"}),
        field("load_balancer.policy", "Balancer policy", "Deployment", Kind::Choice, "How requests pick a replica",
              {"round_robin", "least_outstanding", "consistent_hash", "power_of_two_choices"}),

        field("workload.kind", "Workload", "Workload", Kind::Choice, "Closed loop: users wait for answers",
              {"closed_loop", "open_loop", "trace"}),
        field("workload.users", "Users", "Workload", Kind::Integer, "Closed loop"),
        field("workload.think_time_s", "Think time (s)", "Workload", Kind::Number, "Closed loop"),
        field("workload.rate_per_s", "Arrival rate (/s)", "Workload", Kind::Number, "Open loop"),
        field("workload.arrival", "Arrival process", "Workload", Kind::Choice, "Open loop", {"poisson", "gamma"}),
        field("workload.burstiness", "Burstiness", "Workload", Kind::Number, "Gamma arrivals: coefficient of variation"),
        field("workload.schedule.kind", "Schedule", "Workload", Kind::Choice, "Load over time",
              {"constant", "diurnal", "steps"}),
        field("workload.prompt_tokens", "Prompt tokens (fixed)", "Workload", Kind::Integer,
              "A fixed prompt length; a distribution is set with the two fields below"),
        field("workload.prompt_tokens.distribution", "Prompt length distribution", "Workload", Kind::Choice, "",
              {"fixed", "uniform", "lognormal", "empirical"}),
        field("workload.prompt_tokens.mean", "Prompt tokens (mean)", "Workload", Kind::Number, "Lognormal"),
        field("workload.output_tokens", "Output tokens (fixed)", "Workload", Kind::Integer,
              "A fixed output length; a distribution is set with the two fields below"),
        field("workload.output_tokens.distribution", "Output length distribution", "Workload", Kind::Choice, "",
              {"fixed", "uniform", "lognormal", "empirical"}),
        field("workload.output_tokens.mean", "Output tokens (mean)", "Workload", Kind::Number, "Lognormal"),

        field("slo.percentile", "Percentile", "SLO", Kind::Number, "The percentile the SLO limits apply to"),
        field("slo.ttft_s", "TTFT (s)", "SLO", Kind::Number, "Time to first token"),
        field("slo.tpot_s", "TPOT (s)", "SLO", Kind::Number, "Time per output token"),
        field("slo.e2e_s", "End-to-end (s)", "SLO", Kind::Number, "Whole request"),

        field("facility.halls.0.cooling.kind", "Cooling (hall 1)", "Facility", Kind::Choice, "Cooling of the first hall",
              {"air", "direct_liquid", "immersion"}),
        field("facility.weather", "Site weather", "Facility", Kind::Text,
              "Built-in typical year (e.g. hong_kong) or a weather CSV: sets the ambient"),
        field("facility.start", "Start (MM-DD HH:MM)", "Facility", Kind::Text, "Weather-year time of simulated t = 0"),
        field("facility.pue_target", "PUE target", "Facility", Kind::Number, ""),
        field("facility.gpu_power_cap_w", "GPU power cap (W)", "Facility", Kind::Number, "Empty: TDP"),
        field("cost.tariff_per_kwh", "Tariff per kWh", "Facility", Kind::Text, "Amount and currency, e.g. \"1.44 HKD\""),
        field("cost.currency", "Reporting currency", "Facility", Kind::Choice, "", {"USD", "HKD", "CNY"}),
        field("cost.years", "TCO horizon (years)", "Facility", Kind::Number, ""),
    };
    return fields;
}

QStringList scenarioFieldSections()
{
    return {QStringLiteral("Scenario"), QStringLiteral("Model"),    QStringLiteral("Hardware"),
            QStringLiteral("Deployment"), QStringLiteral("Workload"), QStringLiteral("SLO"),
            QStringLiteral("Facility")};
}
