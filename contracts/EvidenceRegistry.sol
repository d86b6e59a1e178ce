// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IEvidenceRegistry} from "./interfaces/IEvidenceRegistry.sol";

/**
 * @title EvidenceRegistry
 * @notice Permissionless registry of evidence anchors. Anyone may anchor a root; the first
 * anchoring of a root is kept forever and can never be overwritten.
 * @dev One storage slot per root (submitter, time, block). No external calls, no owner.
 */
contract EvidenceRegistry is IEvidenceRegistry {
    mapping(bytes32 root => Anchor anchor) private _anchors;

    /// @inheritdoc IEvidenceRegistry
    function anchor(bytes32 root, uint256 leafCount) external {
        if (root == bytes32(0)) revert EvidenceRootZero();
        if (leafCount == 0) revert EvidenceLeafCountZero(root);
        uint40 anchoredAt = _anchors[root].anchoredAt;
        if (anchoredAt != 0) revert EvidenceAlreadyAnchored(root, anchoredAt);
        _anchors[root] = Anchor(msg.sender, uint40(block.timestamp), uint56(block.number));
        emit EvidenceAnchored(root, msg.sender, leafCount);
    }

    /// @inheritdoc IEvidenceRegistry
    function anchorOf(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @inheritdoc IEvidenceRegistry
    function verify(bytes32 leaf, bytes32[] calldata proof, bytes32 root) external view returns (uint40 anchoredAt) {
        anchoredAt = _anchors[root].anchoredAt;
        if (anchoredAt != 0 && !MerkleProof.verifyCalldata(proof, root, leaf)) anchoredAt = 0;
    }

    /// @inheritdoc IEvidenceRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
