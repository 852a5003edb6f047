/*
 * ssdt-d3cold.asl - extra ACPI table for the "d3cold" test platform.
 *
 * Compiled by boot.sh with `iasl` (acpica-tools) into CACHE/acpi/ and given to
 * QEMU with `-acpitable file=...aml`.
 *
 * Why: QEMU's q35 machine has no ACPI power resources, so Linux runtime PM of
 * a PCI device stops at D3hot. Linux puts a PCI device into D3cold only when
 * its ACPI companion has power resources for D3hot (_PR3): after putting the
 * device into D3hot through its PM capability, it turns those resources off,
 * and the device's power_state then reads "D3cold". With _PR0 as well, Linux
 * turns the resources back on before D0. QEMU's DSDT already has a Device
 * node for each slot of bus 0, named S + devfn in hex (_ADR = slot << 16):
 *
 *     \_SB.PCI0.S18   _ADR 0x00030000   e1000e at 00:03.0
 *     \_SB.PCI0.S28   _ADR 0x00050000   nvme   at 00:05.0
 *     \_SB.PCI0.S30   _ADR 0x00060000   edu    at 00:06.0
 *
 * (checked on QEMU 7.2 by disassembling /sys/firmware/acpi/tables/DSDT from
 * the guest), so this table only adds power resources and the _PR0/_PR3
 * references to them. Nothing else is needed: _PS0/_PS3 alone, or _PR0
 * without _PR3, leave the device at D3hot, and _S0W is not read without _PRW.
 *
 * edu has no PCI PM capability. It gets _PS0/_PS3 only: a device whose only
 * power management is the platform's. pci_target_state (drivers/pci/pci.c)
 * asks the platform first (platform_pci_power_manageable, true once _PS0
 * exists: acpi_pci_power_manageable in drivers/pci/pci-acpi.c) and falls back
 * to the PM capability only when the platform cannot manage the device, so
 * runtime PM takes edu to D3hot through _PS3, where without this table it
 * stays in D0.
 *
 * Each _ON/_OFF writes one byte to I/O port 0xE9 (QEMU's debug console, kept
 * by `-debugcon file:...`), so the host can see that the firmware methods
 * really ran and in which order:
 *     'E' e1000e resource on     'e' e1000e resource off
 *     'N' nvme resource on       'n' nvme resource off
 *     'U' edu _PS0 ran           'u' edu _PS3 ran
 *
 * None of this cuts power in QEMU (the device model keeps its state); it
 * exercises the kernel's and VFIO's D3cold paths, which is what is tested.
 */
DefinitionBlock ("", "SSDT", 2, "KTEST", "D3COLD", 0x00000001)
{
    /* Objects defined by QEMU's DSDT that this table refers to. */
    External (\_SB.PCI0, DeviceObj)
    External (\_SB.PCI0.S18, DeviceObj)
    External (\_SB.PCI0.S28, DeviceObj)
    External (\_SB.PCI0.S30, DeviceObj)

    Scope (\_SB.PCI0)
    {
        /*
         * One byte at I/O port 0xE9: the debug console. The field must not be
         * called DBGB: QEMU's DSDT already has an object of that name.
         */
        OperationRegion (KTDC, SystemIO, 0xE9, One)
        Field (KTDC, ByteAcc, NoLock, Preserve)
        {
            KTDB,   8
        }

        /*
         * Power resource of the e1000e (S18). System level 0 (S0), resource
         * order 0. _STA reports the state that _ON/_OFF last set; it starts
         * "on" because the emulated device is powered when the machine starts.
         */
        PowerResource (PRE1, 0x00, 0x0000)
        {
            Name (STAT, One)
            Method (_STA, 0, NotSerialized)
            {
                Return (STAT)
            }
            Method (_ON, 0, NotSerialized)
            {
                KTDB = 0x45     /* 'E' */
                STAT = One
            }
            Method (_OFF, 0, NotSerialized)
            {
                KTDB = 0x65     /* 'e' */
                STAT = Zero
            }
        }

        /* Power resource of the nvme (S28), same scheme. */
        PowerResource (PRN1, 0x00, 0x0000)
        {
            Name (STAT, One)
            Method (_STA, 0, NotSerialized)
            {
                Return (STAT)
            }
            Method (_ON, 0, NotSerialized)
            {
                KTDB = 0x4E     /* 'N' */
                STAT = One
            }
            Method (_OFF, 0, NotSerialized)
            {
                KTDB = 0x6E     /* 'n' */
                STAT = Zero
            }
        }
    }

    /*
     * _PR0: resources the device needs in D0 (Linux turns them on before D0).
     * _PR3: resources the device needs in D3hot; their presence is what lets
     * Linux choose D3cold (all of them off) as the runtime-suspend state.
     */
    Scope (\_SB.PCI0.S18)
    {
        Name (_PR0, Package (0x01) { \_SB.PCI0.PRE1 })
        Name (_PR3, Package (0x01) { \_SB.PCI0.PRE1 })
    }

    Scope (\_SB.PCI0.S28)
    {
        Name (_PR0, Package (0x01) { \_SB.PCI0.PRN1 })
        Name (_PR3, Package (0x01) { \_SB.PCI0.PRN1 })
    }

    /*
     * edu (S30): power methods without power resources. _PS0 and _PS3 only
     * record that they ran; QEMU's edu keeps its state either way.
     */
    Scope (\_SB.PCI0.S30)
    {
        Method (_PS0, 0, Serialized)
        {
            \_SB.PCI0.KTDB = 0x55     /* 'U' */
        }
        Method (_PS3, 0, Serialized)
        {
            \_SB.PCI0.KTDB = 0x75     /* 'u' */
        }
    }
}
