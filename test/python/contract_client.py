"""The vxgossip v1 API through stubs generated from proto/ by grpc_tools (Debian's python3-grpcio):
a client that shares no code with ours. Usage: contract_client.py STUBS_DIR SERVER_ADDRESS CREDENTIALS_DIR
CREDENTIALS_DIR holds the operator credential the server wrote (DATA/operator: ca.crt, operator.crt,
operator.key). Prints one line per check; exits non-zero on the first contract violation."""
import os
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
from vxgossip.v1 import (  # noqa: E402
    cluster_service_pb2, cluster_service_pb2_grpc, endpoint_service_pb2, endpoint_service_pb2_grpc,
    node_service_pb2, node_service_pb2_grpc, types_pb2, vni_service_pb2, vni_service_pb2_grpc,
)



def read(name):
    with open(os.path.join(sys.argv[3], name), 'rb') as f:
        return f.read()


# The server speaks only TLS, and operator methods want the operator certificate.
credentials = grpc.ssl_channel_credentials(
    root_certificates=read('ca.crt'), private_key=read('operator.key'), certificate_chain=read('operator.crt'))
channel = grpc.secure_channel(sys.argv[2], credentials)
vnis = vni_service_pb2_grpc.VniServiceStub(channel)
nodes = node_service_pb2_grpc.NodeServiceStub(channel)
endpoints = endpoint_service_pb2_grpc.EndpointServiceStub(channel)
cluster = cluster_service_pb2_grpc.ClusterServiceStub(channel)


def check(name, condition, detail=''):
    print(('ok   ' if condition else 'FAIL ') + name + (': ' + str(detail) if detail and not condition else ''))
    if not condition:
        sys.exit(1)


def expect_code(name, code, call):
    try:
        call()
    except grpc.RpcError as err:
        check(name, err.code() == code, f'{err.code()} {err.details()}')
        return err.details()
    check(name, False, 'the call succeeded')


created = vnis.CreateVni(vni_service_pb2.CreateVniRequest(vni=types_pb2.Vni(id=4242, name='py-blue', mtu=1400)))
check('CreateVni returns the VNI with defaults', created.id == 4242 and created.dstport == 4789 and created.mode == types_pb2.MODE_L2, created)
got = vnis.GetVni(vni_service_pb2.GetVniRequest(id=4242))
check('GetVni returns what was created', got.vni.name == 'py-blue' and got.vni.mtu == 1400, got)
listed = vnis.ListVnis(vni_service_pb2.ListVnisRequest(page_size=10))
check('ListVnis lists it', 4242 in [v.id for v in listed.vnis], listed)
updated = vnis.UpdateVni(vni_service_pb2.UpdateVniRequest(vni=types_pb2.Vni(id=4242, mtu=1300), update_paths=['mtu']))
check('UpdateVni changes the MTU and bumps the revision', updated.mtu == 1300 and updated.revision > created.revision, updated)

details = expect_code('CreateVni with VNI 0 is INVALID_ARGUMENT', grpc.StatusCode.INVALID_ARGUMENT,
                      lambda: vnis.CreateVni(vni_service_pb2.CreateVniRequest(vni=types_pb2.Vni(id=0))))
check('the error names the field', 'id' in details or 'vni' in details, details)
expect_code('CreateVni with dstport 70000 is INVALID_ARGUMENT', grpc.StatusCode.INVALID_ARGUMENT,
            lambda: vnis.CreateVni(vni_service_pb2.CreateVniRequest(vni=types_pb2.Vni(id=7, dstport=70000))))
expect_code('CreateVni of an existing VNI is ALREADY_EXISTS', grpc.StatusCode.ALREADY_EXISTS,
            lambda: vnis.CreateVni(vni_service_pb2.CreateVniRequest(vni=types_pb2.Vni(id=4242))))
expect_code('GetVni of an unknown VNI is NOT_FOUND', grpc.StatusCode.NOT_FOUND,
            lambda: vnis.GetVni(vni_service_pb2.GetVniRequest(id=999)))
expect_code('UpdateVni with a stale revision is FAILED_PRECONDITION', grpc.StatusCode.FAILED_PRECONDITION,
            lambda: vnis.UpdateVni(vni_service_pb2.UpdateVniRequest(vni=types_pb2.Vni(id=4242, mtu=1200), update_paths=['mtu'], expected_revision=1)))

check('ListNodes answers (no agents here)', len(nodes.ListNodes(node_service_pb2.ListNodesRequest()).nodes) == 0)
expect_code('GetNode of an unknown node is NOT_FOUND', grpc.StatusCode.NOT_FOUND,
            lambda: nodes.GetNode(node_service_pb2.GetNodeRequest(name='ghost')))
check('ListEndpoints answers', endpoints.ListEndpoints(endpoint_service_pb2.ListEndpointsRequest()).revision >= 0)
expect_code('LookupFdb of an unannounced MAC is NOT_FOUND', grpc.StatusCode.NOT_FOUND,
            lambda: endpoints.LookupFdb(endpoint_service_pb2.LookupFdbRequest(vni=4242, mac='02:00:00:00:00:01')))
expect_code('LookupFdb of a malformed MAC is INVALID_ARGUMENT', grpc.StatusCode.INVALID_ARGUMENT,
            lambda: endpoints.LookupFdb(endpoint_service_pb2.LookupFdbRequest(vni=4242, mac='nonsense')))
expect_code('AttachEndpoint on a node that never connected is NOT_FOUND', grpc.StatusCode.NOT_FOUND,
            lambda: endpoints.AttachEndpoint(endpoint_service_pb2.AttachEndpointRequest(node='ghost', vni=4242, netns='ns', ip='10.0.0.2/24')))
check('ListDuplicates answers (nothing frozen)', len(endpoints.ListDuplicates(endpoint_service_pb2.ListDuplicatesRequest()).duplicates) == 0)
expect_code('ClearDuplicate of a malformed MAC is INVALID_ARGUMENT', grpc.StatusCode.INVALID_ARGUMENT,
            lambda: endpoints.ClearDuplicate(endpoint_service_pb2.ClearDuplicateRequest(vni=4242, mac='nonsense')))
expect_code('ClearDuplicate without agents is UNAVAILABLE', grpc.StatusCode.UNAVAILABLE,
            lambda: endpoints.ClearDuplicate(endpoint_service_pb2.ClearDuplicateRequest(vni=4242, mac='02:00:00:00:00:01')))
expect_code('ListKeys without agents is UNAVAILABLE', grpc.StatusCode.UNAVAILABLE,
            lambda: cluster.ListKeys(cluster_service_pb2.ListKeysRequest()))
status = cluster.GetStatus(cluster_service_pb2.GetStatusRequest())
check('GetStatus reports the config revision', status.config_revision >= updated.revision, status)

anonymous = grpc.secure_channel(sys.argv[2], grpc.ssl_channel_credentials(root_certificates=read('ca.crt')))
details = expect_code('ListVnis over TLS without the operator certificate is UNAUTHENTICATED',
                      grpc.StatusCode.UNAUTHENTICATED,
                      lambda: vni_service_pb2_grpc.VniServiceStub(anonymous).ListVnis(vni_service_pb2.ListVnisRequest()))
check('the refusal says which credential to give', 'operator credential' in details, details)
anonymous.close()

watch = endpoints.WatchFdb(endpoint_service_pb2.WatchRequest())
first = next(watch)
check('WatchFdb starts with the end of an (empty) snapshot', first.type == types_pb2.EVENT_TYPE_SNAPSHOT_END, first)
watch.cancel()

deleted = vnis.DeleteVni(vni_service_pb2.DeleteVniRequest(id=4242))
check('DeleteVni returns the new revision', deleted.revision > updated.revision, deleted)
expect_code('DeleteVni of an unknown VNI is NOT_FOUND', grpc.StatusCode.NOT_FOUND,
            lambda: vnis.DeleteVni(vni_service_pb2.DeleteVniRequest(id=4242)))
print('contract ok')
