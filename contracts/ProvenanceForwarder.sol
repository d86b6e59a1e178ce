// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/**
 * @title ProvenanceForwarder
 * @notice OpenZeppelin's ERC-2771 forwarder, unchanged, under the EIP-712 domain name
 * "ProvenanceForwarder" (version "1"). A co-op's relay submits the requests its members signed; the
 * ProvenanceRegistry deployed with this forwarder sees each member as the sender.
 */
contract ProvenanceForwarder is ERC2771Forwarder {
    constructor() ERC2771Forwarder("ProvenanceForwarder") {}
}
