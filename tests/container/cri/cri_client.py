#!/usr/bin/python3
# A small CRI client (what the kubelet does for one pod, without a kubelet): over containerd's CRI
# socket, RunPodSandbox with a runtime handler (a RuntimeClass's handler), CreateContainer,
# StartContainer, ContainerStatus until it exits (or StopContainer once it runs), then
# RemoveContainer, StopPodSandbox and RemovePodSandbox. Prints one JSON object: the exit code, the
# reason, the container's log (CRI's format) and the ids.
# Usage: cri_client.py STUBS_DIR SOCKET run|stop HANDLER NAME IMAGE LOG_DIR CGROUP_PARENT [ARGS...]
#   run   waits for the container to exit by itself
#   stop  waits for it to run and write to its log, then StopContainer with a 10 s grace period
#   exec  as stop, with ExecSync of the command after "--" in ARGS first (a liveness probe's and
#         `kubectl exec`'s way in): its stdout and exit code in exec_stdout, exec_exit_code
import json, os, sys, time

sys.path.insert(0, sys.argv[1])
import grpc
import cri_pb2 as cri

socket_path, mode, handler, name, image, log_dir, cgroup_parent = sys.argv[2:9]
args = sys.argv[9:]
exec_command = []
if "--" in args:
    exec_command = args[args.index("--") + 1:]
    args = args[:args.index("--")]
channel = grpc.insecure_channel("unix://" + socket_path)


def call(method, request, response_type, timeout=60):
    stub = channel.unary_unary("/runtime.v1.RuntimeService/" + method,
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    return stub(request, timeout=timeout)


result = {"handler": handler}


def has_log():
    try:
        return os.path.getsize(os.path.join(log_dir, name + ".log")) > 0
    except OSError:
        return False


# Host networking: the pod needs no CNI plugin.
namespaces = cri.NamespaceOption(network=cri.NODE, pid=cri.CONTAINER, ipc=cri.POD)
sandbox_config = cri.PodSandboxConfig(
    metadata=cri.PodSandboxMetadata(name=name, uid=name + "-uid", namespace="spectrum-test"),
    log_directory=log_dir,  # no hostname: the node's, as the kubelet leaves it for host network
    linux=cri.LinuxPodSandboxConfig(
        cgroup_parent=cgroup_parent,
        security_context=cri.LinuxSandboxSecurityContext(namespace_options=namespaces)))
sandbox_id = container_id = None
try:
    result["runtime"] = call("Version", cri.VersionRequest(version="v1"), cri.VersionResponse).runtime_name
    sandbox_id = call("RunPodSandbox", cri.RunPodSandboxRequest(config=sandbox_config, runtime_handler=handler),
                      cri.RunPodSandboxResponse).pod_sandbox_id
    result["sandbox"] = sandbox_id
    config = cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name=name), image=cri.ImageSpec(image=image), args=args,
        log_path=name + ".log",
        linux=cri.LinuxContainerConfig(
            resources=cri.LinuxContainerResources(memory_limit_in_bytes=128 << 20),
            security_context=cri.LinuxContainerSecurityContext(namespace_options=namespaces)))
    container_id = call("CreateContainer", cri.CreateContainerRequest(
        pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config),
        cri.CreateContainerResponse).container_id
    result["container"] = container_id
    call("StartContainer", cri.StartContainerRequest(container_id=container_id), cri.StartContainerResponse)
    deadline = time.monotonic() + 60
    stopped = False
    while time.monotonic() < deadline:
        status = call("ContainerStatus", cri.ContainerStatusRequest(container_id=container_id),
                      cri.ContainerStatusResponse).status
        if status.state == cri.CONTAINER_EXITED:
            break
        # Once it runs and has written its first line (so that the stop is not before it).
        if mode in ("stop", "exec") and status.state == cri.CONTAINER_RUNNING and not stopped and has_log():
            result["ran"] = True
            if mode == "exec":
                answer = call("ExecSync", cri.ExecSyncRequest(container_id=container_id, cmd=exec_command, timeout=30),
                              cri.ExecSyncResponse)
                result.update(exec_stdout=answer.stdout.decode(errors="replace"), exec_exit_code=answer.exit_code)
            call("StopContainer", cri.StopContainerRequest(container_id=container_id, timeout=10),
                 cri.StopContainerResponse)
            stopped = True
        time.sleep(0.1)
    result.update(state=cri.ContainerState.Name(status.state), exit_code=status.exit_code,
                  reason=status.reason, message=status.message)
    try:
        with open(status.log_path or (log_dir + "/" + name + ".log")) as log:
            result["log"] = log.read()
    except OSError as error:
        result["log"] = "(no log: %s)" % error
except grpc.RpcError as error:
    result["error"] = "%s: %s" % (error.code().name, error.details())
finally:
    try:
        if container_id:
            call("RemoveContainer", cri.RemoveContainerRequest(container_id=container_id), cri.RemoveContainerResponse)
        if sandbox_id:
            call("StopPodSandbox", cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), cri.StopPodSandboxResponse)
            call("RemovePodSandbox", cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id),
                 cri.RemovePodSandboxResponse)
    except grpc.RpcError as error:
        result.setdefault("error", "cleanup: %s: %s" % (error.code().name, error.details()))
print(json.dumps(result))
