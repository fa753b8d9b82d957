"""GPU runners: NVIDIA DCGM exporter (utilisation, memory, temperature, power) and the runner hosts."""

from house_style import Query, Row, dashboard, stat, timeseries, variable

HOST = 'Hostname=~"$host"'

dashboard = dashboard(
    uid="aip-gpu-runners",
    title="AI platform / GPU runners",
    description="Self-hosted GPU runners and GPU node pools: DCGM exporter metrics per host and GPU, and "
    "node exporter metrics of the runner hosts.",
    tags=["gpu", "runners"],
    variables=[variable("host", "label_values(DCGM_FI_DEV_GPU_UTIL, Hostname)", "Host")],
    rows=[
        Row(
            "GPUs",
            [
                timeseries(
                    "GPU utilisation",
                    "Share of time a kernel was running on each GPU (DCGM_FI_DEV_GPU_UTIL, percent).",
                    [
                        Query(
                            f"avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{{{HOST}}})",
                            "{{Hostname}} GPU {{gpu}}",
                        )
                    ],
                    unit="percent",
                    maximum=100,
                ),
                timeseries(
                    "GPU memory used",
                    "Framebuffer memory used over total, per GPU; training near 100% risks out-of-memory.",
                    [
                        Query(
                            f"sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{{{HOST}}}) / (sum by (Hostname, gpu) "
                            f"(DCGM_FI_DEV_FB_USED{{{HOST}}}) + sum by (Hostname, gpu) (DCGM_FI_DEV_FB_FREE{{{HOST}}}))",
                            "{{Hostname}} GPU {{gpu}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                    thresholds=[(0.95, "red")],
                ),
                timeseries(
                    "GPU temperature",
                    "GPU core temperature (DCGM_FI_DEV_GPU_TEMP); datacenter GPUs throttle near 85 °C.",
                    [
                        Query(
                            f"max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP{{{HOST}}})",
                            "{{Hostname}} GPU {{gpu}}",
                        )
                    ],
                    unit="celsius",
                    thresholds=[(85, "red")],
                ),
            ],
        ),
        Row(
            "Power and memory",
            [
                timeseries(
                    "Power draw",
                    "Power drawn by each GPU in watts (DCGM_FI_DEV_POWER_USAGE).",
                    [
                        Query(
                            f"max by (Hostname, gpu) (DCGM_FI_DEV_POWER_USAGE{{{HOST}}})",
                            "{{Hostname}} GPU {{gpu}}",
                        )
                    ],
                    unit="watt",
                ),
                timeseries(
                    "GPU memory used (bytes)",
                    "Framebuffer memory used per GPU (DCGM reports MiB; shown in bytes).",
                    [
                        Query(
                            f"max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{{{HOST}}}) * 1024 * 1024",
                            "{{Hostname}} GPU {{gpu}}",
                        )
                    ],
                    unit="bytes",
                ),
                stat(
                    "GPUs reporting",
                    "Number of GPUs the DCGM exporters report; fewer than expected means a host or driver is down.",
                    [Query(f"count(DCGM_FI_DEV_GPU_UTIL{{{HOST}}})", "GPUs", instant=True)],
                    decimals=0,
                ),
            ],
        ),
        Row(
            "Runner hosts",
            [
                timeseries(
                    "Host CPU busy",
                    "CPU time not idle, per runner host (node exporter); data loading bottlenecks show here.",
                    [
                        Query(
                            '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))',
                            "{{instance}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                ),
                timeseries(
                    "Root disk free",
                    "Free space on the runner hosts' root filesystem; checkpoints and caches fill it.",
                    [
                        Query(
                            'min by (instance) (node_filesystem_avail_bytes{mountpoint="/"} '
                            '/ node_filesystem_size_bytes{mountpoint="/"})',
                            "{{instance}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                    thresholds=[(0.1, "red")],
                ),
                stat(
                    "Runner service active",
                    "Whether the GitHub Actions runner systemd unit is active on each host (systemd collector).",
                    [
                        Query(
                            'max by (instance) (node_systemd_unit_state{name="github-runner.service", '
                            'state="active"})',
                            "{{instance}}",
                            instant=True,
                        )
                    ],
                    decimals=0,
                ),
            ],
        ),
    ],
)
