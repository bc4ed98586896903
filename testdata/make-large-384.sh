#!/bin/sh
# Writes large-384.xml: a 384-vCPU, 8-cell guest as libvirt dumps it, with
# every vCPU pinned 1:1 and every cell bound to its host node. Too long to
# write by hand; run it again after changing the shape below.
set -eu
cd "$(dirname "$0")"
vcpus=384
cells=8
per_cell=$((vcpus / cells))
cell_kib=50331648 # 48 GiB
{
  cat <<HEAD
<domain type='kvm'>
  <name>hana-384</name>
  <uuid>0e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0</uuid>
  <memory unit='KiB'>$((cell_kib * cells))</memory>
  <currentMemory unit='KiB'>$((cell_kib * cells))</currentMemory>
  <memoryBacking>
    <hugepages>
      <page size='1048576' unit='KiB'/>
    </hugepages>
  </memoryBacking>
  <vcpu placement='static'>$vcpus</vcpu>
  <cputune>
HEAD
  i=0
  while [ $i -lt $vcpus ]; do
    echo "    <vcpupin vcpu='$i' cpuset='$((i + 8))'/>"
    i=$((i + 1))
  done
  cat <<MID
    <emulatorpin cpuset='0-7'/>
  </cputune>
  <numatune>
    <memory mode='strict' nodeset='0-$((cells - 1))'/>
MID
  c=0
  while [ $c -lt $cells ]; do
    echo "    <memnode cellid='$c' mode='strict' nodeset='$c'/>"
    c=$((c + 1))
  done
  cat <<MID
  </numatune>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  </os>
  <features>
    <acpi/>
    <apic/>
    <ioapic driver='qemu'/>
  </features>
  <cpu mode='host-passthrough' check='none'>
    <topology sockets='$cells' dies='1' cores='$((per_cell / 2))' threads='2'/>
    <numa>
MID
  c=0
  while [ $c -lt $cells ]; do
    echo "      <cell id='$c' cpus='$((c * per_cell))-$((c * per_cell + per_cell - 1))' memory='$cell_kib' unit='KiB'/>"
    c=$((c + 1))
  done
  cat <<TAIL
    </numa>
  </cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <memballoon model='none'/>
    <iommu model='intel'>
      <driver intremap='on' eim='on'/>
    </iommu>
  </devices>
</domain>
TAIL
} > large-384.xml
