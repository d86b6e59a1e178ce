// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEvidenceRegistry} from "../interfaces/IEvidenceRegistry.sol";

/**
 * @title ForgedEvidenceRegistry (TEST ONLY)
 * @notice A hostile registry for the verification corpus: it answers `anchorOf` with whatever its
 * deployer told it — any submitter, any (backdated) time and block — and emits no anchoring log.
 * A verifier that believes what a registry says about itself would accept its answers; Proofmark
 * must refuse it by its runtime code hash (REGISTRY_UNKNOWN), and even when the user pins it, find
 * no EvidenceAnchored log in the claimed block.
 * @dev Never deploy outside tests.
 */
contract ForgedEvidenceRegistry {
    mapping(bytes32 root => IEvidenceRegistry.Anchor anchor) private _anchors;

    /// @notice Records a made-up anchor for `root` (no checks, no event).
    /// @param root The root to forge an anchor for.
    /// @param submitter The submitter to claim.
    /// @param anchoredAt The time to claim.
    /// @param blockNumber The block to claim.
    function forge(bytes32 root, address submitter, uint40 anchoredAt, uint56 blockNumber) external {
        _anchors[root] = IEvidenceRegistry.Anchor(submitter, anchoredAt, blockNumber);
    }

    /// @notice The forged record, shaped like EvidenceRegistry's.
    /// @param root The root.
    /// @return The forged anchor.
    function anchorOf(bytes32 root) external view returns (IEvidenceRegistry.Anchor memory) {
        return _anchors[root];
    }

    /// @notice Claims any proof is valid at the forged time.
    /// @param root The root.
    /// @return anchoredAt The forged time.
    function verify(bytes32, bytes32[] calldata, bytes32 root) external view returns (uint40 anchoredAt) {
        return _anchors[root].anchoredAt;
    }

    /// @notice Claims to be the real thing.
    /// @return The real registry's version string.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
